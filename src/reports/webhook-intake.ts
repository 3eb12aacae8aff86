import type { AuditLog } from '../audit/index.js';
import { createHash } from 'node:crypto';
import { presentedServiceTokenOf, serviceTokenRefusalEvent, type ServiceTokenIdentity, type ServiceTokens } from '../credentials/index.js';
import type { ReportsConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { ipv6Prefix64Of } from '../lib/ip/ipv6-prefix64.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import { hashSecret } from '../lib/secret-hash.js';
import { REPORT_ERRORS, type Reports } from './create-reports.js';
import type { IntakeAnswer, IntakeIdempotencyKeys, IntakeKeyRef } from './intake-idempotency-keys.js';
import { judgeIntakeSender } from './judge-intake-sender.js';
import { parseIdempotencyKey } from './parse-idempotency-key.js';
import { parseWebhookBody, WEBHOOK_BAD_BODY } from './parse-webhook-body.js';

export const WEBHOOK_INTAKE_ERRORS = {
  unauthenticated: 'report_intake_unauthenticated',
  rateLimited: 'report_rate_limited',
  badBody: WEBHOOK_BAD_BODY,
  ambiguousCredentials: 'report_intake_ambiguous_credentials',
  badIdempotencyKey: 'report_intake_bad_idempotency_key',
  idempotencyKeyReused: 'report_intake_idempotency_key_reused',
  idempotencyInProgress: 'report_intake_idempotency_in_progress',
} as const;

/** What the intake is given by the HTTP layer: everything untrusted, nothing parsed yet. */
export interface WebhookPresentation {
  /** Node's `rawHeaders` (name, value, name, value…): repeated headers stay visible. */
  rawHeaders: readonly string[];
  ip: string;
  userAgent: unknown;
}

export interface WebhookIntake {
  /** Before the body is read: the token, or a 401 (`report_intake_unauthenticated`) with the verifier's code audited. */
  authenticate(presented: WebhookPresentation): Promise<ServiceTokenIdentity>;
  /** After: the body judged (`{from?, text}` JSON or raw MIME) and triaged like any report; with an `Idempotency-Key`, a retry gets the first answer (`replayed`). */
  accept(token: ServiceTokenIdentity, request: { contentType: string | undefined; body: unknown; ip: string; rawHeaders: readonly string[] }): Promise<{ answer: IntakeAnswer; replayed: boolean }>;
}

export interface WebhookIntakeOptions {
  reports: Pick<Reports, 'submit'>;
  tokens: Pick<ServiceTokens, 'verify' | 'recordUse'>;
  isKnownUser: (email: string) => Promise<boolean>;
  audit: Pick<AuditLog, 'record'>;
  clock: Clock;
  /** An hour-window limiter: reports per token (`reports.webhook.per_token_per_hour`). */
  hourly: RateLimiter;
  /** The `Idempotency-Key` rows (per token, hashed, `reports.webhook.idempotency_hours`). */
  keys: Pick<IntakeIdempotencyKeys, 'claim' | 'complete' | 'release'>;
  /** A minute-window limiter: audit lines of refused presentations per address, so a flood cannot fill the log. */
  refusalAudit: RateLimiter;
  /** `reports:` read per request (hot reload). */
  settings: () => ReportsConfig;
}

const REFUSAL_AUDITS_PER_MINUTE = 30;

/** The body as judged: its media type and content (JSON re-serialised: whitespace is not a difference). */
function fingerprintOf(contentType: string | undefined, body: unknown): string {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return createHash('sha256').update(`${mediaType}\n${typeof body === 'string' ? body : JSON.stringify(body)}`, 'utf8').digest('hex');
}

/**
 * The inbound webhook for a mail or SMS gateway's forward, authenticated by a service token whose
 * `apps` list names `reports.webhook.app` (the same verifier as the access proxy: one SHA-256 and
 * constant-time comparisons, digests only at rest, revocation through the change feed).
 *
 * The attacker:
 * - No or a wrong token: 401 before the body is read, one generic message; the verifier's code
 *   (`service_token_bad_secret`, `_expired`, `_app_not_allowed`, …) goes to the audit log, at most
 *   30 lines a minute per address (IPv6: per /64).
 * - The token as `Authorization: Bearer <client id>.<secret>` (what automation tools send): the same
 *   verifier, limits and audit as the two headers. A hop that adds a credential of its own (a proxy
 *   injecting its token, a second `Authorization`) makes a request with two meanings: refused, 400
 *   `report_intake_ambiguous_credentials`, before any token is verified (`presentedServiceTokenOf`).
 * - A gateway token used to forge reporters: `from` is the gateway's claim; it becomes a reporter only
 *   with `reports.webhook.trust_sender` and a directory user, else the report is anonymous (counted
 *   zero) or, with `allow_anonymous` off, refused (`report_anonymous_refused`).
 * - Replay of a captured request: it adds a report, never a reporter (reporters are counted distinct),
 *   and a token is held to `per_token_per_hour` (`report_rate_limited`). With an `Idempotency-Key`,
 *   a replay inside the window files nothing and gets the first answer.
 * - Idempotency keys (draft-ietf-httpapi-idempotency-key-header): a key is scoped to its token, so a
 *   key chosen by another token's holder never answers for this token's reports nor blocks them. A
 *   holder of this token who predicts a key and uses it first with another body cannot make the real
 *   report vanish: the real one gets 422 `report_intake_idempotency_key_reused` (audited, the gateway
 *   logs it), never a 202 carrying someone else's result. Two retries racing: one INSERT wins (the
 *   table's primary key), the other gets 409 `report_intake_idempotency_in_progress` or the answer.
 *   Keys are stored as SHA-256 only, for `reports.webhook.idempotency_hours`.
 * - Oversize: the route's body limit, then `max_body_bytes` on the raw message or the text (`report_too_large`).
 */
export function createWebhookIntake(options: WebhookIntakeOptions): WebhookIntake {
  const unauthenticated = () => new GatehouseError(WEBHOOK_INTAKE_ERRORS.unauthenticated, { status: 401, publicMessage: 'The service token was not accepted.' });
  return {
    async authenticate(presented) {
      const webhook = options.settings().webhook;
      if (!webhook) throw unauthenticated();
      const now = options.clock.now();
      // Per IPv6 /64, not per address: a host owns a whole /64 and could take a fresh address (and a
      // fresh 30 lines) for every request, filling the audit log.
      const mayAuditRefusal = () => options.refusalAudit.take(`report-intake:${ipv6Prefix64Of(presented.ip) ?? presented.ip}`, REFUSAL_AUDITS_PER_MINUTE);
      const credentials = presentedServiceTokenOf(presented.rawHeaders);
      if (credentials.kind === 'ambiguous') {
        if (mayAuditRefusal()) await options.audit.record({ type: 'report.refused', outcome: 'failure', code: WEBHOOK_INTAKE_ERRORS.ambiguousCredentials, actor: 'anonymous', ip: presented.ip, detail: { source: 'webhook', reason: credentials.why } });
        throw new GatehouseError(WEBHOOK_INTAKE_ERRORS.ambiguousCredentials, { status: 400, publicMessage: 'Send the service token once: either the Gatehouse-Client-Id and Gatehouse-Client-Secret headers or one Authorization: Bearer header.', detail: credentials.why });
      }
      const presentedToken = credentials.kind === 'presented' ? credentials : { clientId: undefined, secret: undefined };
      const verdict = options.tokens.verify({ clientId: presentedToken.clientId, secret: presentedToken.secret, app: webhook.app, now });
      if (!verdict.ok) {
        if (mayAuditRefusal()) await options.audit.record(serviceTokenRefusalEvent(verdict, { clientId: presentedToken.clientId, app: webhook.app, clientAddress: presented.ip }));
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
      const refused = async (error: GatehouseError) => {
        await options.audit.record({ type: 'report.refused', outcome: 'failure', code: error.code, actor, ip: request.ip, detail: { source: 'webhook', reason: error.detail ?? error.code } });
        return error;
      };
      const idempotency = parseIdempotencyKey(request.rawHeaders);
      if (idempotency && 'refused' in idempotency) {
        throw await refused(new GatehouseError(WEBHOOK_INTAKE_ERRORS.badIdempotencyKey, { status: 400, publicMessage: idempotency.refused, detail: idempotency.refused }));
      }
      // The key is scoped to the token and kept as a hash: a stolen table holds no key to replay with.
      const ref: IntakeKeyRef | undefined = idempotency ? { tokenId: token.id, keyHash: hashSecret(idempotency.key) } : undefined;
      if (ref) {
        const windowMs = (settings.webhook?.idempotency_hours ?? 24) * 3_600_000;
        const claim = await options.keys.claim(ref, fingerprintOf(request.contentType, request.body), options.clock.now(), windowMs);
        if (claim.kind === 'replay') return { answer: claim.answer, replayed: true };
        if (claim.kind === 'mismatch') {
          throw await refused(new GatehouseError(WEBHOOK_INTAKE_ERRORS.idempotencyKeyReused, { status: 422, publicMessage: 'This Idempotency-Key was already used with another body; use a new key for a new report.', detail: 'Idempotency-Key reused with another body' }));
        }
        if (claim.kind === 'in_progress') {
          throw await refused(new GatehouseError(WEBHOOK_INTAKE_ERRORS.idempotencyInProgress, { status: 409, publicMessage: 'A request with this Idempotency-Key is still being processed; retry later.', detail: 'Idempotency-Key in use by a running request' }));
        }
      }
      let answer: IntakeAnswer;
      try {
        const { from, text } = parseWebhookBody(request.contentType, request.body, settings.max_body_bytes);
        const trusted = settings.webhook?.trust_sender === true;
        // The gateway's `from` is judged like an SMTP sender whose relay is this token's gateway.
        const sender = await judgeIntakeSender({ envelopeFrom: from, headerFrom: from, remoteAddress: request.ip }, { trustSender: trusted, isTrustedRelay: () => true, isKnownUser: options.isKnownUser });
        if (!sender.identified && !settings.allow_anonymous) {
          throw new GatehouseError(REPORT_ERRORS.anonymousRefused, { status: 403, publicMessage: 'Anonymous reports are not accepted here.', detail: sender.why });
        }
        const outcome = await options.reports.submit({
          source: 'webhook',
          ...(sender.identified ? { reporter: sender.reporter } : sender.claimed ? { claimedSender: sender.claimed } : {}),
          body: text,
          clientIp: request.ip,
        });
        answer = { report: outcome.reportId, group: outcome.groupId, harmless: outcome.harmless, escalated: outcome.escalated };
      } catch (error) {
        // Nothing was filed: the key is free again for a corrected retry.
        if (ref) await options.keys.release(ref);
        if (error instanceof GatehouseError && error.status < 500) await refused(error);
        throw error;
      }
      // Outside the try: once filed, a failure to record the answer must not free the key (a retry
      // would file twice); the row then ages into the abandoned-claim takeover.
      if (ref) await options.keys.complete(ref, answer);
      return { answer, replayed: false };
    },
  };
}
