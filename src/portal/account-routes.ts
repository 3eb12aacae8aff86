import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionView } from '../identity/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import { checkCsrf, csrfTokenFor } from './csrf.js';
import { currentSession } from './current-session.js';
import { accountPage } from './pages.js';
import { clearSessionCookie, isTls, type PortalDeps } from './portal-deps.js';
import { safeReturnTo } from './return-to.js';

const NOTICES: Record<string, string> = {
  enrolled: 'Your security key is registered. You are signed in.',
  added: 'The new key is registered.',
  renamed: 'Key renamed.',
  removed: 'Key removed.',
  ended: 'That session has ended.',
};

const keyVerifyBody = {
  type: 'object',
  required: ['challengeId', 'response'],
  properties: { challengeId: { type: 'string', maxLength: 64 }, response: { type: 'object' }, name: { type: 'string', maxLength: 200 } },
  additionalProperties: false,
} as const;

const keyActivateBody = {
  type: 'object',
  required: ['activationId', 'response'],
  properties: { activationId: { type: 'string', maxLength: 64 }, response: { type: 'object' } },
  additionalProperties: false,
} as const;

/**
 * A form that changes keys with a key proof older than the window: send the person to touch a key
 * (the sign-in page in step-up mode) and back to the account page, where they submit again.
 */
async function stepUpOnStaleProof(reply: FastifyReply, change: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await change();
  } catch (error) {
    if (isGatehouseError(error) && error.code === 'step_up_required') return reply.redirect('/sign-in?step_up=1&return_to=%2Faccount', 303);
    throw error;
  }
}

async function requireSession(deps: PortalDeps, request: FastifyRequest): Promise<SessionView> {
  const session = await currentSession(deps, request);
  if (!session) throw new GatehouseError('session_required', { status: 401, publicMessage: 'Your session has ended. Sign in again.' });
  return session;
}

function field(request: FastifyRequest, name: string): string {
  const value = (request.body as Record<string, unknown> | undefined)?.[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new GatehouseError('invalid_input', { status: 400, publicMessage: `The form field "${name}" is missing or too long.` });
  }
  return value;
}

export function registerAccountRoutes(app: FastifyInstance, deps: PortalDeps): void {
  const back = (reply: FastifyReply, notice: string) => reply.redirect(`/account?${notice}=1`, 303);

  app.get('/account', async (request, reply) => {
    const session = await currentSession(deps, request);
    if (!session) return reply.redirect('/sign-in?return_to=%2Faccount', 303);
    const [keys, sessions, user] = await Promise.all([
      deps.identity.credentials.listForUser(session.userId),
      deps.identity.sessions.listForUser(session.userId),
      deps.identity.users.get(session.userId),
    ]);
    const query = request.query as Record<string, string | undefined>;
    // Where sign-in was going before the re-enrolment notice; checked like any return_to.
    const continueTo = query.continue === undefined ? undefined : safeReturnTo(query.continue, deps.isAllowedReturnTo);
    const notice = Object.keys(NOTICES).find((key) => query[key] === '1');
    const csrfToken = csrfTokenFor(request, reply, deps.random, isTls(request));
    return reply.type('text/html; charset=utf-8').send(
      accountPage(
        { organisation: deps.settings().organisation, csrfToken },
        {
          email: session.email,
          name: session.name,
          keys,
          sessions,
          currentHash: session.idHash,
          reenrollRequired: user?.reenrollRequired === true,
          ...(continueTo && continueTo !== '/account' ? { continueTo } : {}),
          ...(notice ? { notice: NOTICES[notice] } : {}),
        },
      ),
    );
  });

  app.post('/api/account/keys/options', async (request) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    return deps.identity.startAddKey(await requireSession(deps, request), deps.requestContext(request));
  });

  // Registration verified: the key is pending; the answer asks the page for the new key's assertion.
  app.post('/api/account/keys/verify', { schema: { body: keyVerifyBody } }, async (request) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    const session = await requireSession(deps, request);
    const body = request.body as { challengeId: string; response: unknown; name?: string };
    return deps.identity.finishRegistration({ challengeId: body.challengeId, response: body.response, keyName: body.name ?? 'Security key', session }, deps.requestContext(request));
  });

  app.post('/api/account/keys/activate', { schema: { body: keyActivateBody } }, async (request) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    const session = await requireSession(deps, request);
    const body = request.body as { activationId: string; response: unknown };
    await deps.identity.activateKey({ activationId: body.activationId, response: body.response, session }, deps.requestContext(request));
    return { redirect: '/account?added=1' };
  });

  app.post('/account/keys/rename', async (request, reply) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    const session = await requireSession(deps, request);
    return stepUpOnStaleProof(reply, async () => {
      await deps.identity.renameKey(session.userId, field(request, 'id'), field(request, 'name'), `user:${session.userId}`, session);
      return back(reply, 'renamed');
    });
  });

  app.post('/account/keys/remove', async (request, reply) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    const session = await requireSession(deps, request);
    return stepUpOnStaleProof(reply, async () => {
      const { sessionsRevoked } = await deps.identity.removeKey(session.userId, field(request, 'id'), { byAdmin: false, actor: `user:${session.userId}`, ip: deps.requestContext(request).ip, session });
      // The key may have opened this very session: then it has ended too.
      if (sessionsRevoked > 0 && !(await deps.identity.sessions.validateHash(session.idHash))) return reply.redirect('/sign-in', 303);
      return back(reply, 'removed');
    });
  });

  app.post('/account/sessions/end', async (request, reply) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    const session = await requireSession(deps, request);
    const handle = field(request, 'handle');
    const target = (await deps.identity.sessions.listForUser(session.userId)).find((s) => s.handle === handle);
    if (!target) throw new GatehouseError('session_not_found', { status: 404, publicMessage: 'That session was not found.' });
    await deps.identity.revokeSession(target.idHash, { actor: `user:${session.userId}`, reason: 'ended by user', userId: session.userId });
    if (target.idHash === session.idHash) return reply.redirect('/sign-in', 303);
    return back(reply, 'ended');
  });

  app.post('/account/sign-out-everywhere', async (request, reply) => {
    const settings = deps.settings();
    checkCsrf(request, settings.allowedOrigins);
    const session = await requireSession(deps, request);
    await deps.identity.revokeUserSessions(session.userId, { actor: `user:${session.userId}`, reason: 'signed out everywhere' });
    clearSessionCookie(request, reply, settings);
    return reply.redirect('/sign-in?everywhere=1', 303);
  });
}
