import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SERVICE_TOKEN_HEADERS, type ServiceTokenIdentity } from '../credentials/index.js';
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
 */
export function registerReportIntakeRoutes(app: FastifyInstance, deps: PortalDeps, route: ReportIntakeRouteDeps): void {
  const tokens = new WeakMap<FastifyRequest, ServiceTokenIdentity>();
  const fail = (reply: FastifyReply, error: unknown) => {
    if (!isGatehouseError(error) || error.status >= 500) throw error;
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
            tokens.set(request, await route.intake.authenticate({ clientId: request.headers[SERVICE_TOKEN_HEADERS.clientId], secret: request.headers[SERVICE_TOKEN_HEADERS.clientSecret], ip, userAgent: request.headers['user-agent'] }));
          } catch (error) {
            return fail(reply, error);
          }
        },
      },
      async (request, reply) => {
        const token = tokens.get(request);
        if (!token) return reply.code(401).send({ code: 'report_intake_unauthenticated', message: 'The service token was not accepted.' });
        try {
          const outcome = await route.intake.accept(token, { contentType: request.headers['content-type'], body: request.body, ip: deps.requestContext(request).ip });
          return reply.code(202).header('cache-control', 'no-store').send({ report: outcome.reportId, group: outcome.groupId, harmless: outcome.harmless, escalated: outcome.escalated });
        } catch (error) {
          return fail(reply, error);
        }
      },
    );
  });
}
