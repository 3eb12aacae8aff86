import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceTokenIdentity } from '../credentials/index.js';
import { isGatehouseError } from '../lib/errors.js';
import type { WebhookIntake } from '../reports/index.js';
import type { PortalDeps } from './portal-deps.js';

/** What the webhook route needs: the intake, and whether it is configured and how large a report may be (read per request). */
export interface ReportIntakeRouteDeps {
  intake: WebhookIntake;
  settings(): { enabled: boolean; maxBodyBytes: number };
}

export const REPORT_INTAKE_PATH = '/api/reports/intake';

/**
 * `POST /api/reports/intake`: a mail or SMS gateway's forward. The service token is checked in
 * `onRequest`, before fastify reads a byte of the body, so an unauthenticated client cannot make the
 * server buffer an upload. The route's body limit is fixed at start-up (JSON escapes can grow a text
 * sixfold); `max_body_bytes` is enforced again on what was read. Answers are JSON with a stable code:
 * the caller is a machine that logs it. Token refusals all get one code; the cause is in the audit log.
 * The token comes as the two Gatehouse headers or `Authorization: Bearer <client id>.<secret>`; an
 * `Idempotency-Key` makes a retry return the first answer (see `createWebhookIntake`).
 */
export function registerReportIntakeRoutes(app: FastifyInstance, deps: PortalDeps, route: ReportIntakeRouteDeps): void {
  const tokens = new WeakMap<FastifyRequest, ServiceTokenIdentity>();
  const fail = (reply: FastifyReply, error: unknown) => {
    if (!isGatehouseError(error) || error.status >= 500) throw error;
    // RFC 6750 §3: a 401 names the scheme the client may use.
    if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="gatehouse-report-intake"');
    return reply.code(error.status).header('cache-control', 'no-store').send({ code: error.code, message: error.publicMessage });
  };
  const bodyLimit = route.settings().maxBodyBytes * 6 + 4096;

  // Encapsulated: the raw-MIME parser serves this route only.
  void app.register(async (scope) => {
    scope.addContentTypeParser('message/rfc822', { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body));
    scope.post(
      REPORT_INTAKE_PATH,
      {
        bodyLimit,
        onRequest: async (request, reply) => {
          if (!route.settings().enabled) return reply.callNotFound();
          try {
            const ip = deps.requestContext(request).ip;
            tokens.set(request, await route.intake.authenticate({ rawHeaders: request.raw.rawHeaders, ip, userAgent: request.headers['user-agent'] }));
          } catch (error) {
            return fail(reply, error);
          }
        },
      },
      async (request, reply) => {
        const token = tokens.get(request);
        if (!token) return reply.code(401).send({ code: 'report_intake_unauthenticated', message: 'The service token was not accepted.' });
        try {
          const { answer, replayed } = await route.intake.accept(token, { contentType: request.headers['content-type'], body: request.body, ip: deps.requestContext(request).ip, rawHeaders: request.raw.rawHeaders });
          // A retry answered from its Idempotency-Key says so (the header Stripe and others use): nothing new was filed.
          if (replayed) reply.header('idempotent-replayed', 'true');
          return reply.code(202).header('cache-control', 'no-store').send(answer);
        } catch (error) {
          return fail(reply, error);
        }
      },
    );
  });
}
