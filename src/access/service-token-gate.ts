import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuditEvent, AuditLog } from '../audit/index.js';
import {
  networkOf,
  SERVICE_TOKEN_PUBLIC_MESSAGE,
  serviceTokenHeadersOf,
  serviceTokenRefusalEvent,
  stripServiceTokenHeaders,
  type ServiceTokenIdentity,
  type ServiceTokens,
} from '../credentials/index.js';
import type { Clock } from '../lib/clock.js';
import { RateLimiter } from '../lib/rate-limiter.js';
import type { AccessRequest, CompiledApp, Decision } from './policy/index.js';

/** What the gateway needs of the service-token capability: the verifier and the use recorder. */
export type ServiceTokenCheck = Pick<ServiceTokens, 'verify' | 'recordUse'>;

/** The body code of every token refusal: one for all causes (the cause is in the audit log). */
export const SERVICE_TOKEN_REFUSED = 'service_token_refused';
/** The requests counter's outcome for a machine let in (allow or bypass). */
export const SERVICE_TOKEN_ADMITTED = 'service_token_allowed';

/**
 * Audit writes for refused token presentations, per client network (/24, /48) and minute. A client
 * guessing secrets or replaying a revoked one is worth an audit line, not a database write per request:
 * past the budget the gateway still refuses every request and counts what it did not write.
 */
const AUDIT_PER_NETWORK_PER_MINUTE = 30;

export interface ServiceTokenGateDeps {
  /** Absent: no service-token capability wired (every presentation is refused as unknown). */
  tokens: () => ServiceTokenCheck | undefined;
  audit: AuditLog;
  logger: Logger;
  clock: Clock;
}

export interface ServiceTokenPresented {
  clientId: unknown;
  secret: unknown;
}

/**
 * The gateway's service-token step. A request carrying either token header is a machine's: it is
 * judged by its token alone (any session cookie it also carries is ignored) and never sent to a
 * sign-in page. The app is the one the gateway routed to; the headers are taken off the request as
 * soon as they are read, so no log or later step sees the secret (the proxy drops every `Gatehouse-*`
 * field on the way upstream in any case).
 */
export function createServiceTokenGate(deps: ServiceTokenGateDeps) {
  const budget = new RateLimiter(deps.clock, 60_000, 10_000);
  const suppressed = new Map<string, number>();

  const write = (event: AuditEvent, clientAddress: string) => {
    const network = networkOf(clientAddress) ?? clientAddress;
    if (!budget.take(network, AUDIT_PER_NETWORK_PER_MINUTE)) {
      const count = (suppressed.get(network) ?? 0) + 1;
      if (suppressed.size < 10_000 || suppressed.has(network)) suppressed.set(network, count);
      // One log line per thousand suppressed writes: the flood is visible without becoming one.
      if (count === 1 || count % 1000 === 0) deps.logger.warn({ network, suppressed: count, code: event.code }, 'service token refusals over the audit budget; counting, not writing');
      return;
    }
    const missed = suppressed.get(network);
    if (missed !== undefined) suppressed.delete(network);
    void deps.audit
      .record(missed === undefined ? event : { ...event, detail: { ...event.detail, suppressedBefore: missed } })
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'audit write failed'));
  };

  const gate = {
    /** The headers as they arrived, removed from the request; undefined when it carries neither. */
    take(headers: IncomingHttpHeaders): ServiceTokenPresented | undefined {
      const presented = serviceTokenHeadersOf(headers);
      if (presented !== undefined) stripServiceTokenHeaders(headers);
      return presented;
    },

    /**
     * Verifies the token for the app and judges the request with it under the app's policies; allowed,
     * records the use and returns the token, otherwise audits why (the verifier's code, or the policy's
     * reasons) and returns undefined.
     */
    admit(presented: ServiceTokenPresented, app: CompiledApp, request: Omit<AccessRequest, 'identity' | 'serviceToken'>, req: IncomingMessage, requestId: string): ServiceTokenIdentity | undefined {
      const token = gate.verify(presented, app.name, request.ip, requestId, request.now);
      if (token === undefined) return undefined;
      const decision = app.decide({ ...request, serviceToken: token });
      if (!decision.allow) {
        gate.denied(token, app.name, decision, req, request.ip, requestId);
        return undefined;
      }
      gate.used(token, app.name, request.ip, req.headers['user-agent'], request.now);
      return token;
    },

    /** The verified token, or undefined after auditing the refusal with its code. */
    verify(presented: ServiceTokenPresented, app: string, clientAddress: string, requestId: string, now: number): ServiceTokenIdentity | undefined {
      const tokens = deps.tokens();
      const verdict = tokens ? tokens.verify({ clientId: presented.clientId, secret: presented.secret, app, now }) : ({ ok: false, code: 'service_token_unknown' } as const);
      if (verdict.ok) return verdict.token;
      const event = serviceTokenRefusalEvent(verdict, { clientId: presented.clientId, app, clientAddress });
      write({ ...event, detail: { ...event.detail, requestId } }, clientAddress);
      return undefined;
    },

    /** A verified token the app's policies did not let in (`access.denied`, the policy's reasons). */
    denied(token: ServiceTokenIdentity, app: string, decision: Decision, req: IncomingMessage, clientAddress: string, requestId: string): void {
      write(
        {
          type: 'access.denied',
          outcome: 'failure',
          code: decision.reasons[0]?.split(':')[0] ?? 'denied',
          actor: `service_token:${token.name}`,
          ip: clientAddress,
          detail: { app, serviceToken: token.name, policy: decision.policy ?? null, reasons: decision.reasons, method: req.method, path: (req.url ?? '').split('?')[0], requestId },
        },
        clientAddress,
      );
    },

    /** Last use, from actual use: a map update now, written in a batch off the request path. */
    used(token: ServiceTokenIdentity, app: string, clientAddress: string, userAgent: unknown, now: number): void {
      deps.tokens()?.recordUse({ clientId: token.clientId, at: now, clientAddress, app, userAgent: typeof userAgent === 'string' ? userAgent : undefined });
    },
  };
  return gate;
}

export type ServiceTokenGate = ReturnType<typeof createServiceTokenGate>;

/** Whether the client asked for a page (a browser) rather than data (a machine, the usual case). */
export function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/**
 * The one answer to every refused token request, whatever the cause (bad secret, revoked, expired,
 * another app's token, or a policy that does not name it): a holder of a client id, or of a secret,
 * learns nothing about the token's state from it.
 */
export function sendServiceTokenRefusalJson(res: ServerResponse, requestId: string): void {
  const body = JSON.stringify({ error: SERVICE_TOKEN_REFUSED, message: SERVICE_TOKEN_PUBLIC_MESSAGE, requestId });
  res.writeHead(403, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}
