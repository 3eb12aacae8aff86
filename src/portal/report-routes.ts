import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import type { Reports } from '../reports/index.js';
import { checkCsrf, csrfTokenFor } from './csrf.js';
import { currentSession } from './current-session.js';
import { messagePage } from './pages.js';
import { isTls, type PortalDeps } from './portal-deps.js';
import { reportPage, reportThanksPage } from './report-pages.js';

/** What the report page needs besides the portal's own dependencies (`reports:` read per request). */
export interface ReportPortalDeps {
  reports: Pick<Reports, 'submit'>;
  audit: Pick<AuditLog, 'record'>;
  /** An hour-window limiter (`reports.per_address_per_hour`), apart from the portal's per-minute one. */
  limiter: RateLimiter;
  settings(): { enabled: boolean; allowAnonymous: boolean; maxBodyBytes: number; perAddressPerHour: number };
}

const DOMAIN_HINT = /^[a-z0-9.-]{1,253}$/i;
const HOUR_WINDOW_KEY = 'report:';

/**
 * `/report`: the form (prefilled from a block page's `?domain=`), and its POST: CSRF-checked, the
 * signed-in identity attached (or anonymous where allowed), size-capped, rate-limited per address.
 * Refusals show one generic message; the code goes to the audit log.
 */
export function registerReportRoutes(app: FastifyInstance, deps: PortalDeps, reports: ReportPortalDeps): void {
  const page = (request: FastifyRequest, reply: FastifyReply) => ({ organisation: deps.settings().organisation, csrfToken: csrfTokenFor(request, reply, deps.random, isTls(request)) });

  app.get('/report', async (request, reply) => {
    const settings = reports.settings();
    if (!settings.enabled) return reply.callNotFound();
    const query = request.query as { domain?: unknown; kind?: unknown };
    const domain = typeof query.domain === 'string' && DOMAIN_HINT.test(query.domain) ? query.domain.toLowerCase() : '';
    const session = await currentSession(deps, request);
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(reportPage(page(request, reply), { signedInAs: session?.email, anonymousAllowed: settings.allowAnonymous, domain, mistake: query.kind === 'mistake', returnPath: `/report?${new URLSearchParams({ ...(domain ? { domain } : {}), ...(query.kind === 'mistake' ? { kind: 'mistake' } : {}) }).toString()}`, maxKb: Math.floor(settings.maxBodyBytes / 1024) }));
  });

  // The report limit plus room for the form's encoding (a byte can become %XX); fixed at start-up (a
  // reload may lower `max_body_bytes`, which `submit` enforces, but raising it past this needs a restart).
  const bodyLimit = reports.settings().maxBodyBytes * 3 + 4096;
  app.post('/report', { bodyLimit }, async (request, reply) => {
    const settings = reports.settings();
    if (!settings.enabled) return reply.callNotFound();
    const session = await currentSession(deps, request);
    const ip = deps.requestContext(request).ip;
    try {
      checkCsrf(request, deps.settings().allowedOrigins);
      if (!reports.limiter.take(`${HOUR_WINDOW_KEY}${ip}`, settings.perAddressPerHour)) {
        throw new GatehouseError('report_rate_limited', { status: 429, publicMessage: 'Too many reports from this address. Please try again later, or tell your security team directly.' });
      }
      const body = request.body as { body?: unknown; kind?: unknown } | undefined;
      const text = typeof body?.body === 'string' ? body.body : '';
      const outcome = await reports.reports.submit({
        source: 'portal',
        ...(session ? { reporter: session.email } : {}),
        body: text,
        ...(ip ? { clientIp: ip } : {}),
        kind: body?.kind === 'mistake' ? 'mistake' : 'suspicious',
      });
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(reportThanksPage(page(request, reply), { signedInAs: session?.email, outcome }));
    } catch (error) {
      if (!isGatehouseError(error)) throw error;
      await reports.audit.record({ type: 'report.refused', outcome: 'failure', code: error.code, userId: session?.userId, ip, detail: { reason: error.detail ?? error.code } });
      return reply
        .code(error.status)
        .type('text/html; charset=utf-8')
        .send(messagePage(page(request, reply), { title: 'This report was not sent', message: error.publicMessage, requestId: request.id, action: { href: '/report', label: 'Back' } }));
    }
  });
}
