import type { AuditLog } from '../audit/index.js';
import { serviceTokenRefusalEvent, type ServiceTokenIdentity, type ServiceTokens } from '../credentials/index.js';
import type { ReportsConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { ipv6Prefix64Of } from '../lib/ip/ipv6-prefix64.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import { REPORT_ERRORS, type ReportOutcome, type Reports } from './create-reports.js';
import { judgeIntakeSender } from './judge-intake-sender.js';
import { parseWebhookBody, WEBHOOK_BAD_BODY } from './parse-webhook-body.js';

export const WEBHOOK_INTAKE_ERRORS = {
  unauthenticated: 'report_intake_unauthenticated',
  rateLimited: 'report_rate_limited',
  badBody: WEBHOOK_BAD_BODY,
} as const;

/** What the intake is given by the HTTP layer: everything untrusted, nothing parsed yet but the headers. */
export interface WebhookPresentation {
  clientId: unknown;
  secret: unknown;
  ip: string;
  userAgent: unknown;
}

export interface WebhookIntake {
  /** Before the body is read: the token, or a 401 (`report_intake_unauthenticated`) with the verifier's code audited. */
  authenticate(presented: WebhookPresentation): Promise<ServiceTokenIdentity>;
  /** After: the body judged (`{from?, text}` JSON or raw MIME) and triaged like any report. */
  accept(token: ServiceTokenIdentity, request: { contentType: string | undefined; body: unknown; ip: string }): Promise<ReportOutcome>;
}

export interface WebhookIntakeOptions {
  reports: Pick<Reports, 'submit'>;
  tokens: Pick<ServiceTokens, 'verify' | 'recordUse'>;
  isKnownUser: (email: string) => Promise<boolean>;
  audit: Pick<AuditLog, 'record'>;
  clock: Clock;
  /** An hour-window limiter: reports per token (`reports.webhook.per_token_per_hour`). */
  hourly: RateLimiter;
  /** A minute-window limiter: audit lines of refused presentations per address, so a flood cannot fill the log. */
  refusalAudit: RateLimiter;
  /** `reports:` read per request (hot reload). */
  settings: () => ReportsConfig;
}

const REFUSAL_AUDITS_PER_MINUTE = 30;

/**
 * The inbound webhook for a mail or SMS gateway's forward, authenticated by a service token whose
 * `apps` list names `reports.webhook.app` (the same verifier as the access proxy: one SHA-256 and
 * constant-time comparisons, digests only at rest, revocation through the change feed).
 *
 * The attacker:
 * - No or a wrong token: 401 before the body is read, one generic message; the verifier's code
 *   (`service_token_bad_secret`, `_expired`, `_app_not_allowed`, …) goes to the audit log, at most
 *   30 lines a minute per address (IPv6: per /64).
 * - A gateway token used to forge reporters: `from` is the gateway's claim; it becomes a reporter only
 *   with `reports.webhook.trust_sender` and a directory user, else the report is anonymous (counted
 *   zero) or, with `allow_anonymous` off, refused (`report_anonymous_refused`).
 * - Replay of a captured request: it adds a report, never a reporter (reporters are counted distinct),
 *   and a token is held to `per_token_per_hour` (`report_rate_limited`).
 * - Oversize: the route's body limit, then `max_body_bytes` on the raw message or the text (`report_too_large`).
 */
export function createWebhookIntake(options: WebhookIntakeOptions): WebhookIntake {
  const unauthenticated = () => new GatehouseError(WEBHOOK_INTAKE_ERRORS.unauthenticated, { status: 401, publicMessage: 'The service token was not accepted.' });
  return {
    async authenticate(presented) {
      const webhook = options.settings().webhook;
      if (!webhook) throw unauthenticated();
      const now = options.clock.now();
      const verdict = options.tokens.verify({ clientId: presented.clientId, secret: presented.secret, app: webhook.app, now });
      if (!verdict.ok) {
        // Per IPv6 /64, not per address: a host owns a whole /64 and could take a fresh address (and a
        // fresh 30 lines) for every request, filling the audit log.
        if (options.refusalAudit.take(`report-intake:${ipv6Prefix64Of(presented.ip) ?? presented.ip}`, REFUSAL_AUDITS_PER_MINUTE)) {
          await options.audit.record(serviceTokenRefusalEvent(verdict, { clientId: presented.clientId, app: webhook.app, clientAddress: presented.ip }));
        }
        throw unauthenticated();
      }
      options.tokens.recordUse({ clientId: verdict.token.clientId, at: now, clientAddress: presented.ip, app: webhook.app, userAgent: typeof presented.userAgent === 'string' ? presented.userAgent : undefined });
      if (!options.hourly.take(`report-intake:${verdict.token.id}`, webhook.per_token_per_hour)) {
        await options.audit.record({ type: 'report.refused', outcome: 'failure', code: WEBHOOK_INTAKE_ERRORS.rateLimited, actor: `service_token:${verdict.token.name}`, ip: presented.ip, detail: { source: 'webhook' } });
        throw new GatehouseError(WEBHOOK_INTAKE_ERRORS.rateLimited, { status: 429, publicMessage: 'Too many reports from this gateway; try again later.' });
      }
      return verdict.token;
    },

    async accept(token, request) {
      const settings = options.settings();
      const actor = `service_token:${token.name}`;
      try {
        const { from, text } = parseWebhookBody(request.contentType, request.body, settings.max_body_bytes);
        const trusted = settings.webhook?.trust_sender === true;
        // The gateway's `from` is judged like an SMTP sender whose relay is this token's gateway.
        const sender = await judgeIntakeSender({ envelopeFrom: from, headerFrom: from, remoteAddress: request.ip }, { trustSender: trusted, isTrustedRelay: () => true, isKnownUser: options.isKnownUser });
        if (!sender.identified && !settings.allow_anonymous) {
          throw new GatehouseError(REPORT_ERRORS.anonymousRefused, { status: 403, publicMessage: 'Anonymous reports are not accepted here.', detail: sender.why });
        }
        return await options.reports.submit({
          source: 'webhook',
          ...(sender.identified ? { reporter: sender.reporter } : sender.claimed ? { claimedSender: sender.claimed } : {}),
          body: text,
          clientIp: request.ip,
        });
      } catch (error) {
        if (error instanceof GatehouseError && error.status < 500) {
          await options.audit.record({ type: 'report.refused', outcome: 'failure', code: error.code, actor, ip: request.ip, detail: { source: 'webhook', reason: error.detail ?? error.code } });
        }
        throw error;
      }
    },
  };
}
