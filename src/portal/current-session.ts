import type { FastifyRequest } from 'fastify';
import type { SessionView } from '../identity/index.js';
import type { PortalDeps } from './portal-deps.js';

/** The portal session named by the request's cookie, if it is valid right now. */
export async function currentSession(deps: PortalDeps, request: FastifyRequest): Promise<SessionView | undefined> {
  const token = request.cookies[deps.settings().cookieName];
  return deps.identity.sessions.validate(token);
}
