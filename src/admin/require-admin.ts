import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { keyProofRefusal, type KeyProofRefusals, type SessionView } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { checkCsrf } from '../portal/index.js';

const DENIED = 'You are not allowed to do this.';
const ADMIN_REFUSALS: KeyProofRefusals = {
  missing: { code: 'admin_phishing_resistant_required', publicMessage: 'Sign in with your security key to use the admin API.' },
  stale: { code: 'admin_step_up_required', publicMessage: 'Touch your security key again to confirm this action.' },
};

export interface AdminAuthSettings {
  cookieName: string;
  adminGroups: readonly string[];
  /** How recent the key proof must be for an action that changes state (ms). */
  writeWindowMs: number;
}

/**
 * The admin API's gate: a live portal session, of a member of `identity.admin_groups`, whose session
 * was established (or stepped up) with a security key or passkey (AMR hwk/swk). A password+TOTP
 * session, which a relay can steal (2022), never reaches incident or hunt controls. Writes also need
 * that proof to be recent (`admin_step_up_required`). One public message per refusal; the code and
 * reason go to the audit log.
 */
export interface AdminGate {
  validate(token: string | undefined): Promise<SessionView | undefined>;
  audit: AuditLog;
  settings: () => AdminAuthSettings;
  clientIp: (request: FastifyRequest) => string;
  clock: Clock;
}

export async function requireAdmin(request: FastifyRequest, deps: AdminGate, access: 'read' | 'write' = 'read'): Promise<SessionView> {
  const settings = deps.settings();
  const session = await deps.validate(request.cookies[settings.cookieName]);
  let error: GatehouseError | undefined;
  if (!session) {
    error = new GatehouseError('admin_session_required', { status: 401, publicMessage: 'Sign in first.', detail: 'no valid portal session' });
  } else if (!session.groups.some((g) => settings.adminGroups.includes(g))) {
    error = new GatehouseError('admin_forbidden', { status: 403, publicMessage: DENIED, detail: `${session.email} is not in ${settings.adminGroups.join(', ')}` });
  } else {
    // A password+TOTP session never reaches admin controls. A session cookie stolen after the admin
    // signed in (malware, a shared machine) reads but does not act: every change needs a touch of the
    // key within the window.
    const windowMs = access === 'write' ? settings.writeWindowMs : Number.POSITIVE_INFINITY;
    error = keyProofRefusal(session, deps.clock.now(), windowMs, `admin ${access}`, ADMIN_REFUSALS);
  }
  if (error) {
    await deps.audit
      .record({ type: 'admin.denied', outcome: 'failure', code: error.code, userId: session?.userId, ip: deps.clientIp(request), detail: { reason: error.detail, route: `${request.method} ${request.routeOptions.url ?? request.url}` } })
      .catch(() => {});
    throw error;
  }
  return session!;
}

/**
 * A state-changing admin request: `requireAdmin` for writes (a recent key proof), then the portal's
 * CSRF check (origin plus double-submit token), the refusal audited with the admin's identity.
 */
export async function requireAdminWrite(request: FastifyRequest, deps: AdminGate, allowedOrigins: readonly string[]): Promise<SessionView> {
  const session = await requireAdmin(request, deps, 'write');
  try {
    checkCsrf(request, allowedOrigins);
  } catch (error) {
    await deps.audit
      .record({ type: 'admin.denied', outcome: 'failure', code: (error as GatehouseError).code, userId: session.userId, ip: deps.clientIp(request), detail: { reason: (error as GatehouseError).detail, route: `${request.method} ${request.routeOptions.url ?? request.url}` } })
      .catch(() => {});
    throw error;
  }
  return session;
}
