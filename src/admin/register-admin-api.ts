import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import type { SessionView } from '../identity/index.js';
import type { IncidentResponse } from '../incident/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import { csrfTokenFor } from '../portal/index.js';
import { closeBody, declareBody, incidentIdParam, parseBody, resumeBody } from './admin-bodies.js';
import { requireAdmin, requireAdminWrite, type AdminAuthSettings } from './require-admin.js';

export interface AdminApiDeps {
  incidents: IncidentResponse;
  audit: AuditLog;
  random: Random;
  clock: Clock;
  validateSession(token: string | undefined): Promise<SessionView | undefined>;
  settings: () => AdminAuthSettings & { allowedOrigins: readonly string[] };
  clientIp: (request: FastifyRequest) => string;
}

/**
 * The admin API under /admin/api/ on the portal host: JSON in and out, every body validated, every
 * call gated by `requireAdmin`, state-changing calls also by the portal's CSRF check (origin plus
 * double-submit token; GET /admin/api/session hands the token to a console page).
 */
export function registerAdminApi(app: FastifyInstance, deps: AdminApiDeps): void {
  void app.register(
    async (scope) => {
      // Errors as `{ error: code, message }`: a stable code for clients, never the private detail.
      scope.setErrorHandler((error, request, reply) => {
        if (isGatehouseError(error)) {
          if (error.status >= 500) request.log.error({ err: error }, 'admin api error');
          return reply.code(error.status).send({ error: error.code, message: error.publicMessage, requestId: request.id });
        }
        const status = (error as { statusCode?: number }).statusCode;
        if (status && status >= 400 && status < 500) return reply.code(status).send({ error: 'invalid_request', message: 'The request could not be understood.', requestId: request.id });
        request.log.error({ err: error }, 'admin api error');
        return reply.code(500).send({ error: 'internal_error', message: 'Something went wrong on our side.', requestId: request.id });
      });
      scope.addHook('onSend', async (_request, reply, payload) => {
        reply.header('cache-control', 'no-store');
        return payload;
      });

      const gate = { validate: deps.validateSession, audit: deps.audit, settings: deps.settings, clientIp: deps.clientIp, clock: deps.clock };
      const admin = (request: FastifyRequest) => requireAdmin(request, gate);
      const adminWrite = (request: FastifyRequest) => requireAdminWrite(request, gate, deps.settings().allowedOrigins);
      const actorOf = (session: SessionView) => `admin:${session.userId}`;

      scope.get('/session', async (request, reply) => {
        const session = await admin(request);
        return { email: session.email, groups: session.groups, amr: session.amr, csrfToken: csrfTokenFor(request, reply, deps.random, request.isHttps) };
      });

      scope.post('/incidents', async (request, reply) => {
        const session = await adminWrite(request);
        const body = parseBody(declareBody, request.body);
        const result = await deps.incidents.declare(
          {
            title: body.title,
            domains: body.domains,
            ips: body.ips,
            urls: body.urls,
            users: body.users,
            tokens: body.tokens,
            credentials: body.credentials,
            campaign: body.campaign,
            ...(body.campaign_scope !== undefined ? { campaignScope: body.campaign_scope } : {}),
            allSessions: body.all_sessions,
            ...(body.since ? { since: body.since } : {}),
          },
          { actor: actorOf(session), dryRun: body.dry_run },
        );
        return reply.code('dryRun' in result ? 200 : 201).send(result);
      });

      scope.get('/incidents', async (request) => {
        await admin(request);
        const status = (request.query as { status?: string }).status;
        if (status !== undefined && status !== 'open' && status !== 'closed') throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'status must be open or closed' });
        return { incidents: await deps.incidents.list(status ? { status } : {}) };
      });

      scope.get('/incidents/:id', async (request) => {
        await admin(request);
        const { id } = parseBody(incidentIdParam, request.params);
        return deps.incidents.show(id);
      });

      scope.post('/incidents/:id/close', async (request) => {
        const session = await adminWrite(request);
        const { id } = parseBody(incidentIdParam, request.params);
        const { note, lift_blocks: liftBlocks } = parseBody(closeBody, request.body);
        return deps.incidents.close(id, { actor: actorOf(session), ...(note ? { note } : {}), liftBlocks });
      });

      scope.post('/incidents/:id/resume', async (request) => {
        const session = await adminWrite(request);
        const { id } = parseBody(incidentIdParam, request.params);
        const { takeover } = parseBody(resumeBody, request.body);
        return deps.incidents.resume(id, { actor: actorOf(session), takeover });
      });

      // A hunt reads only, but it is POST: parameters in a JSON body, and CSRF-checked like the rest.
      scope.post('/hunts/:name', async (request) => {
        const session = await adminWrite(request);
        const name = String((request.params as { name?: unknown }).name ?? '');
        const result = await deps.incidents.hunt(name, request.body ?? {});
        await deps.audit.record({ type: 'admin.hunt', outcome: 'success', userId: session.userId, actor: actorOf(session), ip: deps.clientIp(request), detail: { hunt: name, users: result.users.length } });
        return result;
      });
    },
    { prefix: '/admin/api' },
  );
}
