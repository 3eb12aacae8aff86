import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../lib/errors.js';
import { currentSession } from './current-session.js';
import type { PortalDeps } from './portal-deps.js';

/**
 * Portal side of the app sign-in handshake (issue 3 §3): a signed-in browser sent here by an app host
 * gets a one-time code bound to its session and that app, delivered only to the app's configured host.
 */
export function registerHandshakeRoutes(app: FastifyInstance, deps: PortalDeps): void {
  app.get('/handshake', async (request, reply) => {
    const handshake = deps.handshake;
    if (!handshake) return reply.callNotFound();
    const query = request.query as Record<string, unknown>;
    const appName = typeof query.app === 'string' ? query.app : '';
    const host = handshake.appHost(appName);
    let target: URL | undefined;
    try {
      target = new URL(String(query.rd ?? ''));
    } catch {
      target = undefined;
    }
    // The code goes only to the app's own configured host: anything else would leak a working
    // credential to whoever crafted the link (no open redirect).
    if (!host || !target || target.hostname !== host || (target.protocol !== 'https:' && target.protocol !== 'http:') || target.username || target.password) {
      throw new GatehouseError('handshake_target_invalid', {
        status: 400,
        publicMessage: 'This sign-in link is not for an app this portal protects.',
        detail: `app ${appName.slice(0, 64)} rd ${String(query.rd ?? '').slice(0, 200)}`,
      });
    }
    const session = await currentSession(deps, request);
    if (!session) return reply.redirect(`/sign-in?return_to=${encodeURIComponent(request.url)}`, 303);
    const code = await handshake.issueCode(session, appName);
    const callback = new URL('/.gatehouse/callback', target.origin);
    callback.searchParams.set('code', code);
    callback.searchParams.set('rd', `${target.pathname}${target.search}`);
    return reply.redirect(callback.toString(), 303);
  });
}
