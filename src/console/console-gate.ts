import type { FastifyRequest } from 'fastify';
import { requireAdmin, requireAdminWrite, type AdminGate } from '../admin/index.js';
import type { SessionView } from '../identity/index.js';
import { hashSecret } from '../lib/secret-hash.js';
import type { ConsoleDeps } from './console-deps.js';

export interface ConsoleGate {
  /** A page: an admin whose session was established or stepped up with a key (any age). */
  read(request: FastifyRequest): Promise<SessionView>;
  /**
   * An action: the same admin with a key proof inside `identity.admin_write_window_minutes`, from the
   * portal's own origin with the double-submit CSRF token. A stolen console cookie reads, never acts.
   */
  write(request: FastifyRequest): Promise<SessionView>;
  /**
   * `read` again for a response still open (a live stream), without counting as use: an open tab, or
   * a stolen cookie holding a stream, must not keep the session past its idle timeout.
   */
  recheck(request: FastifyRequest): Promise<SessionView>;
}

/** The admin API's gate, shared: one definition of who may see and change things (audited refusals). */
export function createConsoleGate(deps: ConsoleDeps): ConsoleGate {
  const gate: AdminGate = {
    validate: (token) => deps.identity.sessions.validate(token),
    audit: deps.audit,
    settings: deps.settings,
    clientIp: deps.clientIp,
    clock: deps.clock,
  };
  const untouched: AdminGate = {
    ...gate,
    validate: async (token) => (token && token.length <= 100 ? deps.identity.sessions.validateHash(hashSecret(token), { touch: false }) : undefined),
  };
  return {
    read: (request) => requireAdmin(request, gate, 'read'),
    recheck: (request) => requireAdmin(request, untouched, 'read'),
    write: (request) => requireAdminWrite(request, gate, deps.settings().allowedOrigins),
  };
}
