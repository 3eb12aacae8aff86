import type { AuditEvent } from '../../audit/index.js';
import { isWellFormedClientId } from './service-token-format.js';
import type { ServiceTokenVerdict } from './service-token-verifier.js';

/**
 * The audit event for a refused presentation: the internal code, the token when one was named by a
 * well-formed client id, the app and the address. Never the secret; the client id only when it has the
 * exact public shape (a hostile client's header value is not copied into the log).
 */
export function serviceTokenRefusalEvent(
  verdict: Extract<ServiceTokenVerdict, { ok: false }>,
  context: { clientId: unknown; app: string; clientAddress: string },
): AuditEvent {
  return {
    type: 'service_token.refused',
    outcome: 'failure',
    code: verdict.code,
    actor: verdict.token ? `service_token:${verdict.token.name}` : undefined,
    ip: context.clientAddress,
    detail: {
      app: context.app,
      ...(isWellFormedClientId(context.clientId) ? { clientId: context.clientId } : {}),
      ...(verdict.token ? { name: verdict.token.name, owner: verdict.token.owner } : {}),
    },
  };
}
