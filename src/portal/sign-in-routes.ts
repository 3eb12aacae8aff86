import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import { checkCsrf, csrfTokenFor } from './csrf.js';
import { continuePage, signInPage, signOutPage } from './pages.js';
import { clearSessionCookie, isTls, setSessionCookie, type PortalDeps } from './portal-deps.js';
import { currentSession } from './current-session.js';
import { destinationOf, safeReturnTo } from './return-to.js';

const optionsBody = {
  type: 'object',
  properties: { email: { type: 'string', maxLength: 254 }, stepUp: { type: 'boolean' } },
  additionalProperties: false,
} as const;

const verifyBody = {
  type: 'object',
  required: ['challengeId', 'response'],
  properties: {
    challengeId: { type: 'string', maxLength: 64 },
    response: { type: 'object' },
    returnTo: { type: 'string', maxLength: 2048 },
    stepUp: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

function limit(deps: PortalDeps, request: FastifyRequest, method: string): void {
  const { ip } = deps.requestContext(request);
  if (!deps.rateLimiter.take(`sign-in:${ip}`, deps.settings().signInRatePerMinute)) {
    deps.metrics.signIns.inc({ method, result: 'rate_limited' });
    throw new GatehouseError('rate_limited', { status: 429, publicMessage: 'Too many attempts. Wait a minute and try again.', detail: `sign-in rate limit for ${ip}` });
  }
}

/** Confirmations the sign-in page shows after a redirect here (fixed texts: nothing from the query is echoed). */
const SIGN_IN_NOTICES: Record<string, string> = {
  signed_out: 'You are signed out.',
  everywhere: 'You are signed out on every device.',
  ended: 'This browser’s session has ended. Sign in again to continue.',
};

/**
 * After a sign-in by someone an incident flagged for re-enrolment: the account page says why, and
 * links on to where they were going (a fresh navigation, like continuePage).
 */
async function afterSignIn(deps: PortalDeps, userId: string, returnTo: string): Promise<string> {
  const user = await deps.identity.users.get(userId);
  return user?.reenrollRequired ? `/account?continue=${encodeURIComponent(returnTo)}` : returnTo;
}

function destinationField(returnTo: string, publicUrl: string): { destination?: string } {
  const destination = destinationOf(returnTo, publicUrl);
  return destination ? { destination } : {};
}

export function registerSignInRoutes(app: FastifyInstance, deps: PortalDeps): void {
  app.get('/sign-in', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const returnTo = safeReturnTo(query.return_to, deps.isAllowedReturnTo);
    const stepUp = query.step_up === '1';
    const session = await currentSession(deps, request);
    if (session && !stepUp) return reply.redirect(returnTo, 303);
    const settings = deps.settings();
    const csrfToken = csrfTokenFor(request, reply, deps.random, isTls(request));
    // A cookie that no longer opens a session: signed out elsewhere, revoked by an admin or an incident, or expired.
    const noticeKey = Object.keys(SIGN_IN_NOTICES).find((key) => query[key] === '1') ?? (!session && request.cookies[settings.cookieName] ? 'ended' : undefined);
    const destination = destinationOf(returnTo, settings.publicUrl);
    return reply.type('text/html; charset=utf-8').send(
      signInPage(
        { organisation: settings.organisation, csrfToken },
        {
          returnTo,
          legacy: settings.legacyPassword,
          stepUp: stepUp && Boolean(session),
          ...(stepUp && session ? { signedInAs: session.email } : {}),
          ...(destination ? { destination } : {}),
          ...(noticeKey ? { notice: SIGN_IN_NOTICES[noticeKey]! } : {}),
        },
      ),
    );
  });

  app.post('/api/sign-in/options', { schema: { body: optionsBody } }, async (request) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    limit(deps, request, 'webauthn');
    const body = request.body as { email?: string; stepUp?: boolean };
    const session = body.stepUp ? await currentSession(deps, request) : undefined;
    if (body.stepUp && !session) throw new GatehouseError('session_required', { status: 401, publicMessage: 'Sign in first.' });
    return deps.identity.startSignIn(session ? { stepUpFor: session } : { email: body.email || undefined });
  });

  app.post('/api/sign-in/verify', { schema: { body: verifyBody } }, async (request, reply) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    limit(deps, request, 'webauthn');
    const body = request.body as { challengeId: string; response: unknown; returnTo?: string; stepUp?: boolean };
    const returnTo = safeReturnTo(body.returnTo, deps.isAllowedReturnTo);
    const stepUpFor = body.stepUp ? await currentSession(deps, request) : undefined;
    try {
      const result = await deps.identity.finishSignIn(
        { challengeId: body.challengeId, response: body.response, ...(stepUpFor ? { stepUpFor } : {}) },
        deps.requestContext(request),
      );
      if ('token' in result) setSessionCookie(request, reply, deps.settings(), result.token);
      deps.metrics.signIns.inc({ method: 'webauthn', result: 'success' });
      return { redirect: 'token' in result ? await afterSignIn(deps, result.session.userId, returnTo) : returnTo };
    } catch (error) {
      deps.metrics.signIns.inc({ method: 'webauthn', result: isGatehouseError(error) ? error.code : 'internal_error' });
      throw error;
    }
  });

  app.post('/sign-in/password', async (request, reply) => {
    const settings = deps.settings();
    checkCsrf(request, settings.allowedOrigins);
    limit(deps, request, 'password');
    const body = (request.body ?? {}) as Record<string, unknown>;
    const returnTo = safeReturnTo(body.return_to, deps.isAllowedReturnTo);
    try {
      const result = await deps.identity.legacySignIn({ email: body.email, password: body.password, code: body.code }, deps.requestContext(request));
      setSessionCookie(request, reply, settings, result.token);
      deps.metrics.signIns.inc({ method: 'password', result: 'success' });
      const reenroll = await afterSignIn(deps, result.session.userId, returnTo);
      if (reenroll !== returnTo) return reply.redirect(reenroll, 303);
      // A plain portal path can be a redirect; anything that goes on to an app host (directly or via
      // /handshake) needs a fresh navigation, or form-action 'self' stops it at the app host.
      if (returnTo.startsWith('/') && !returnTo.startsWith('/handshake')) return reply.redirect(returnTo, 303);
      const csrfToken = csrfTokenFor(request, reply, deps.random, isTls(request));
      return reply.type('text/html; charset=utf-8').send(continuePage({ organisation: settings.organisation, csrfToken }, returnTo));
    } catch (error) {
      if (!isGatehouseError(error)) throw error;
      // One label for every refusal: whoever can read /metrics (its listener may be shared with other
      // tooling) must not learn from a counter per reason (bad_credentials vs bad_totp or
      // legacy_downgrade_refused) which password was right or which account has a key. The reason is in
      // the audit log.
      deps.metrics.signIns.inc({ method: 'password', result: error.code === 'invalid_input' ? 'invalid_input' : 'refused' });
      const csrfToken = csrfTokenFor(request, reply, deps.random, isTls(request));
      return reply
        .code(error.status)
        .type('text/html; charset=utf-8')
        .send(signInPage({ organisation: settings.organisation, csrfToken }, { returnTo, legacy: settings.legacyPassword, stepUp: false, message: error.publicMessage, ...destinationField(returnTo, settings.publicUrl) }));
    }
  });

  // "Use another account" from a page an app host served: that host cannot post the portal's CSRF
  // token, so this page asks, and its form signs out (a GET that signed out would be a CSRF logout).
  app.get('/sign-out', async (request, reply) => {
    const settings = deps.settings();
    const returnTo = safeReturnTo((request.query as Record<string, unknown>).return_to, deps.isAllowedReturnTo);
    const session = await currentSession(deps, request);
    if (!session) return reply.redirect(`/sign-in?return_to=${encodeURIComponent(returnTo)}`, 303);
    const csrfToken = csrfTokenFor(request, reply, deps.random, isTls(request));
    return reply.type('text/html; charset=utf-8').send(signOutPage({ organisation: settings.organisation, csrfToken }, { email: session.email, returnTo }));
  });

  app.post('/sign-out', async (request, reply) => {
    const settings = deps.settings();
    checkCsrf(request, settings.allowedOrigins);
    const session = await currentSession(deps, request);
    if (session) await deps.identity.revokeSession(session.idHash, { actor: `user:${session.userId}`, reason: 'signed out', userId: session.userId });
    clearSessionCookie(request, reply, settings);
    const raw = (request.body as Record<string, unknown> | undefined)?.return_to;
    const returnTo = raw === undefined ? '' : `&return_to=${encodeURIComponent(safeReturnTo(raw, deps.isAllowedReturnTo))}`;
    return reply.redirect(`/sign-in?signed_out=1${returnTo}`, 303);
  });
}
