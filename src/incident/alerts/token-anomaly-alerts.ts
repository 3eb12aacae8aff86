import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/index.js';
import type { ObservedAnomaly, ServiceTokens, TokenUseAnomalies, UseAnomalyKind } from '../../credentials/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Database } from '../../store/index.js';
import type { EmailSender } from '../notify/email-sender.js';
import type { WebhookSender } from '../notify/webhook-sender.js';
import type { IncidentLogger } from '../playbook-context.js';
import { claimAlert, releaseAlert } from './alert-claims.js';

export interface TokenAnomalyAlertDeps {
  db: Kysely<Database>;
  clock: Clock;
  audit: AuditLog;
  /** Read per batch, so a reload applies to the next one. */
  settings: () => { suspendOn: readonly UseAnomalyKind[]; emailOwner: boolean; organisation: string };
  senders: () => { webhook: WebhookSender | undefined; email: EmailSender | undefined };
  logger: IncidentLogger;
  /** The running instance's own tokens: a suspension reaches its verifier at once, the others by the feed. */
  tokens: Pick<ServiceTokens, 'suspend'>;
}

export const TOKEN_ANOMALY_ACTOR = 'system:token-anomaly';
/** Starts the status reason of a token this module suspended (shown by `tokens show`). */
export const TOKEN_ANOMALY_REASON = 'token anomaly';
// An integer: PostgreSQL compares it with a bigint column (a fraction there is an error, not a number).
const FOREVER = 2 ** 52;

/**
 * The claim key of one anomaly, the same on every instance that flushes the same use, so it is raised
 * once. A network or an app is new once per token. Silence is keyed by the use it ended. The use of a
 * token believed unused is keyed by the token's version: an admin who resumes the token without
 * withdrawing the mark (`tokens mark-unused --clear`) is alerted, and the token suspended, again at its
 * next use (fail closed: the belief stands until withdrawn).
 */
export function tokenAnomalyKey(token: TokenUseAnomalies, anomaly: ObservedAnomaly): string {
  const base = `token-anomaly:${token.tokenId}:${anomaly.kind}`;
  switch (anomaly.kind) {
    case 'believed_unused_used':
      return `${base}:v${token.version}`;
    case 'new_network':
      return `${base}:${anomaly.network}`;
    case 'new_app':
      return `${base}:${anomaly.app}`;
    case 'after_silence':
      return `${base}:${token.previousUseAt ?? `created-${token.createdAt}`}`;
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const days = (ms: number) => Math.floor(ms / 86_400_000);

function what(anomaly: ObservedAnomaly): string {
  switch (anomaly.kind) {
    case 'believed_unused_used':
      return 'a token believed unused was used';
    case 'new_network':
      return `used from a network it had never used (${anomaly.network})`;
    case 'new_app':
      return `used on an app it had never used (${anomaly.app})`;
    case 'after_silence':
      return `used after ${days(anomaly.silentForMs)} days without use`;
  }
}

/** The responders' message. The use of a token believed unused is the loudest: it says so first. */
export function tokenAnomalyAlertText(token: TokenUseAnomalies, anomaly: ObservedAnomaly, suspended: boolean): string {
  const where = `from ${anomaly.address} on ${anomaly.app} at ${iso(anomaly.at)}`;
  const consequence = suspended
    ? `It is suspended on every instance until an admin runs \`gatehouse tokens resume ${token.name}\`.`
    : 'It still works: suspend or revoke it now if nobody expected this.';
  if (anomaly.kind === 'believed_unused_used') {
    return `:rotating_light: CRITICAL: service token ${token.name} (owner ${token.owner}), believed unused, was used ${where}. This is how the 2023 intrusion got in. ${consequence}`;
  }
  return `:warning: Service token ${token.name} (owner ${token.owner}) ${what(anomaly)}: ${where}. ${consequence}`;
}

/** The owner's notice: what happened and what to do, no link to click. */
export function tokenAnomalyEmail(token: TokenUseAnomalies, anomaly: ObservedAnomaly, suspended: boolean, organisation: string): { subject: string; text: string } {
  return {
    subject: `[${organisation}] ${anomaly.severity === 'critical' ? 'CRITICAL: ' : ''}service token ${token.name}: ${what(anomaly)}`,
    text: [
      `Your service token ${token.name} was ${anomaly.kind === 'believed_unused_used' ? 'used although it was marked believed unused' : what(anomaly)}.`,
      '',
      `When: ${iso(anomaly.at)}`,
      `From address: ${anomaly.address}`,
      `App: ${anomaly.app}`,
      `Client id: ${token.clientId}`,
      '',
      suspended ? `The token is suspended until an administrator resumes it.` : 'The token still works.',
      'If this was expected, tell your security team so they can record it. If it was not, ask them to revoke the token now.',
    ].join('\n'),
  };
}

/**
 * Raises every anomaly of a written batch: suspension first where configured (containment must not
 * wait on a chat server), then the audit event, the webhook and the owner's email, each channel once
 * per anomaly across instances (a claim given back when its delivery fails). Never throws: failures
 * are logged, the audit event is the record that stays.
 */
export async function raiseTokenAnomalyAlerts(deps: TokenAnomalyAlertDeps, found: readonly TokenUseAnomalies[]): Promise<void> {
  const { suspendOn, emailOwner, organisation } = deps.settings();
  const once = async (key: string, deliver: () => Promise<void>): Promise<boolean> => {
    if (!(await claimAlert(deps.db, deps.clock, key, FOREVER))) return false;
    try {
      await deliver();
      return true;
    } catch (error) {
      await releaseAlert(deps.db, key).catch(() => {});
      deps.logger.warn({ err: String(error), alert: key }, 'service token anomaly alert not delivered');
      return false;
    }
  };
  for (const token of found) {
    for (const anomaly of token.anomalies) {
      // Another instance already suspended the token for this very use: its alert is the one.
      if (anomaly.kind === 'believed_unused_used' && token.status === 'suspended' && token.statusReason?.startsWith(`${TOKEN_ANOMALY_REASON} believed_unused_used`)) continue;
      const key = tokenAnomalyKey(token, anomaly);
      try {
        let suspended = token.status === 'suspended';
        if (suspendOn.includes(anomaly.kind) && token.status !== 'revoked') {
          const reason = `${TOKEN_ANOMALY_REASON} ${anomaly.kind}: ${what(anomaly)} from ${anomaly.address} at ${iso(anomaly.at)}`;
          if (await once(`${key}:suspend`, () => suspendWithRetry(deps.tokens, token.name, reason))) suspended = true;
        }
        await once(`${key}:audit`, () =>
          deps.audit.record({
            type: 'incident.alert',
            outcome: 'info',
            code: 'service_token_anomaly',
            actor: TOKEN_ANOMALY_ACTOR,
            ip: anomaly.address,
            detail: { ...anomaly, name: token.name, clientId: token.clientId, owner: token.owner, suspended },
          }),
        );
        await once(`${key}:webhook`, async () => {
          const { webhook } = deps.senders();
          if (!webhook) return deps.logger.warn({ token: token.name, kind: anomaly.kind }, 'service token anomaly raised but no incident.webhook_url is configured');
          await webhook({ text: tokenAnomalyAlertText(token, anomaly, suspended) }, { idempotencyKey: `${key}:webhook` });
        });
        if (emailOwner && token.owner.includes('@')) {
          await once(`${key}:email`, async () => {
            const { email } = deps.senders();
            if (!email) return deps.logger.warn({ token: token.name, kind: anomaly.kind }, 'service token anomaly not emailed to its owner: no incident.smtp is configured');
            await email.send({ to: token.owner, ...tokenAnomalyEmail(token, anomaly, suspended, organisation) }, { idempotencyKey: `${key}:email` });
          });
        }
      } catch (error) {
        deps.logger.error({ err: String(error), token: token.name, kind: anomaly.kind }, 'service token anomaly alert failed');
      }
    }
  }
}

/** An admin changing the token at the same moment makes the versioned write fail: try again, a few times. */
async function suspendWithRetry(tokens: Pick<ServiceTokens, 'suspend'>, name: string, reason: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await tokens.suspend(name, { actor: TOKEN_ANOMALY_ACTOR, reason });
      return;
    } catch (error) {
      if (attempt >= 3 || (error as { code?: unknown }).code !== 'service_token_conflict') throw error;
    }
  }
}
