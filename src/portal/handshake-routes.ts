import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../lib/errors.js';
import { returnPathRefusalOf } from '../lib/return-path-refusal.js';
import { currentSession } from './current-session.js';
import type { PortalDeps } from './portal-deps.js';

/** The app host's hash of its handshake state cookie (hex SHA-256); the cookie itself never leaves it. */
const STATE_BINDING = /^[0-9a-f]{64}$/;
const UNSAFE_URL_CHARACTER = /[\p{Cc}\p{Cf}\p{Z}\\]/u;

/**
 * Portal side of the app sign-in handshake: a signed-in browser sent here by an app host gets a
 * one-time code bound to its session, that app and the app host's handshake state, delivered only to
 * a callback on the app's configured origin.
 *
 * The callback is built from config (scheme, host and port), never from `rd`: a link to `http:` or
 * to another port of the app host would hand a working code to whoever listens there. `rd` only
 * names the path to return to, and must itself be on the app's origin; anything else is refused
 * (`handshake_target_invalid`) before a code exists.
 */
export function registerHandshakeRoutes(app: FastifyInstance, deps: PortalDeps): void {
  app.get('/handshake', async (request, reply) => {
    const handshake = deps.handshake;
    if (!handshake) return reply.callNotFound();
    const query = request.query as Record<string, unknown>;
    const appName = typeof query.app === 'string' ? query.app : '';
    const rd = typeof query.rd === 'string' ? query.rd : '';
    const binding = typeof query.state === 'string' ? query.state : '';
    const origin = handshake.appOrigin(appName);
    const problem = handshakeTargetProblem(origin, rd, binding);
    if (problem || !origin) {
      throw new GatehouseError('handshake_target_invalid', {
        status: 400,
        publicMessage: 'This sign-in link is not for an app this portal protects.',
        detail: `${problem ?? 'unknown app'}: app ${appName.slice(0, 64)} rd ${rd.slice(0, 200)}`,
      });
    }
    const session = await currentSession(deps, request);
    if (!session) return reply.redirect(`/sign-in?return_to=${encodeURIComponent(request.url)}`, 303);
    const target = new URL(rd);
    const code = await handshake.issueCode(session, appName, binding);
    const callback = new URL('/.gatehouse/callback', origin);
    callback.searchParams.set('code', code);
    callback.searchParams.set('rd', `${target.pathname}${target.search}`);
    callback.searchParams.set('state', binding);
    return reply.redirect(callback.toString(), 303);
  });
}

function handshakeTargetProblem(origin: string | undefined, rd: string, binding: string): string | null {
  if (origin === undefined) return 'unknown app';
  if (!STATE_BINDING.test(binding)) return 'missing or malformed state';
  // The URL parser silently drops tabs and newlines: judge the text as sent, not as parsed.
  if (UNSAFE_URL_CHARACTER.test(rd)) return 'return_path_unsafe_character';
  let target: URL;
  try {
    target = new URL(rd);
  } catch {
    return 'rd is not a URL';
  }
  if (target.origin !== origin || target.username || target.password) return `rd origin ${target.origin} is not the app's ${origin}`;
  return returnPathRefusalOf(`${target.pathname}${target.search}`);
}
