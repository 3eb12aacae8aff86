import type { FastifyInstance } from 'fastify';
import { isGatehouseError } from '../lib/errors.js';
import { checkCsrf, csrfTokenFor } from './csrf.js';
import { enrollPage, messagePage } from './pages.js';
import { isTls, setSessionCookie, type PortalDeps } from './portal-deps.js';

const optionsBody = {
  type: 'object',
  required: ['token'],
  properties: { token: { type: 'string', maxLength: 100 } },
  additionalProperties: false,
} as const;

const verifyBody = {
  type: 'object',
  required: ['challengeId', 'token', 'response'],
  properties: {
    challengeId: { type: 'string', maxLength: 64 },
    token: { type: 'string', maxLength: 100 },
    response: { type: 'object' },
    name: { type: 'string', maxLength: 200 },
  },
  additionalProperties: false,
} as const;

const activateBody = {
  type: 'object',
  required: ['activationId', 'token', 'response'],
  properties: {
    activationId: { type: 'string', maxLength: 64 },
    token: { type: 'string', maxLength: 100 },
    response: { type: 'object' },
  },
  additionalProperties: false,
} as const;

export function registerEnrollRoutes(app: FastifyInstance, deps: PortalDeps): void {
  app.get('/enroll', async (request, reply) => {
    const settings = deps.settings();
    const token = String((request.query as Record<string, unknown>).token ?? '');
    const csrfToken = csrfTokenFor(request, reply, deps.random, isTls(request));
    try {
      const start = await deps.identity.startEnrollment(token, deps.requestContext(request));
      // The challenge from this look-up is not used by the page (it asks for its own when the button is
      // pressed); the look-up proves the invite is usable before the page promises anything.
      return reply.type('text/html; charset=utf-8').send(enrollPage({ organisation: settings.organisation, csrfToken }, { token, email: start.user.email, name: start.user.name }));
    } catch (error) {
      if (!isGatehouseError(error)) throw error;
      return reply
        .code(error.status)
        .type('text/html; charset=utf-8')
        .send(messagePage({ organisation: settings.organisation, csrfToken }, {
            title: 'This link cannot be used',
            message: error.publicMessage,
            next: 'Set-up links work once and expire. Ask your IT team for a new one; if you already have a key, sign in with it.',
            action: { href: '/sign-in', label: 'Go to the sign-in page' },
            requestId: request.id,
          }));
    }
  });

  app.post('/api/enroll/options', { schema: { body: optionsBody } }, async (request) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    const { token } = request.body as { token: string };
    return deps.identity.startEnrollment(token, deps.requestContext(request));
  });

  // Registration verified: the key is pending. The answer is the options for its first assertion.
  app.post('/api/enroll/verify', { schema: { body: verifyBody } }, async (request) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    const body = request.body as { challengeId: string; token: string; response: unknown; name?: string };
    return deps.identity.finishRegistration(
      { challengeId: body.challengeId, inviteToken: body.token, response: body.response, keyName: body.name ?? 'Security key' },
      deps.requestContext(request),
    );
  });

  // The new key's assertion against our origin: only now is the invite used and a session issued.
  app.post('/api/enroll/activate', { schema: { body: activateBody } }, async (request, reply) => {
    checkCsrf(request, deps.settings().allowedOrigins);
    const body = request.body as { activationId: string; token: string; response: unknown };
    try {
      const result = await deps.identity.activateKey({ activationId: body.activationId, inviteToken: body.token, response: body.response }, deps.requestContext(request));
      if (result.token) setSessionCookie(request, reply, deps.settings(), result.token);
      deps.metrics.signIns.inc({ method: 'enrollment', result: 'success' });
      return { redirect: '/account?enrolled=1' };
    } catch (error) {
      deps.metrics.signIns.inc({ method: 'enrollment', result: isGatehouseError(error) ? error.code : 'internal_error' });
      throw error;
    }
  });
}
