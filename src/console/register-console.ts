import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isGatehouseError } from '../lib/errors.js';
import type { Change } from '../store/index.js';
import { messagePage } from '../portal/index.js';
import { wantsJson } from './console-action.js';
import { createConsoleContext } from './console-context.js';
import type { ConsoleDeps } from './console-deps.js';
import { createConsoleGate } from './console-gate.js';
import { createLiveStreams } from './live-streams.js';
import { startOverviewRollups } from './overview-rollup-timer.js';
import { registerOverviewPage } from './overview-page.js';
import { registerDnsPage } from './dns-page.js';
import { registerIncidentsPage } from './incidents-page.js';
import { registerSessionsPage } from './sessions-page.js';
import { registerTokensPage } from './tokens-page.js';
import { registerUsersPage } from './users-page.js';
import { registerAppsPage } from './apps-page.js';
import { registerAuditPage } from './audit-page.js';
import { registerReportsPage } from './reports-page.js';

// assets/ sits at the package root, two levels above both src/console and dist/console.
const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'console');

function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const require = createRequire(import.meta.url);
  // uPlot (MIT), served from this origin: the CSP allows script and style from 'self' only.
  const uplot = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const types: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
  // Every file in assets/console (console.js, a page's own script, console.css) by its name.
  const own = readdirSync(ASSETS)
    .filter((name) => types[extname(name)])
    .map((name) => [name, { type: types[extname(name)]!, body: readFileSync(join(ASSETS, name)) }] as const);
  return new Map([
    ...own,
    ['uPlot.iife.min.js', { type: types['.js']!, body: readFileSync(join(uplot, 'uPlot.iife.min.js')) }],
    ['uPlot.min.css', { type: types['.css']!, body: readFileSync(join(uplot, 'uPlot.min.css')) }],
  ]);
}

export interface ConsoleHandle {
  /** Stops the console's background work (the overview rollups) and waits for a pass in flight. */
  close(): Promise<void>;
  /** A change-feed row from any instance: a revoked session's live streams end here. */
  applyChange(change: Change): void;
}

/** Codes console.js acts on itself: a stale key proof is fixed by a touch and a retry. */
const CLIENT_ACTION_CODES = new Set(['admin_step_up_required']);

/** Where a form's page was: the step-up comes back here (a console path only, never another origin). */
function pageOf(request: FastifyRequest): string {
  const referer = request.headers.referer;
  try {
    const path = referer ? new URL(referer).pathname : '';
    return /^\/admin(\/[a-z0-9/_-]*)?$/i.test(path) ? path : '/admin';
  } catch {
    return '/admin';
  }
}

/**
 * The admin console: server-rendered pages under /admin on the portal host, for members of
 * `identity.admin_groups` signed in with a key. Reads need the admin session; every action needs a
 * recent key proof (step-up inline), the CSRF token, and is audited under the admin's identity. A
 * refusal is a page (or JSON for console.js), never data; pages are `no-store`.
 */
export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): ConsoleHandle {
  const assets = loadAssets();
  const liveStreams = createLiveStreams({
    limits: () => {
      const { live_streams_per_session: perSession, live_streams_per_admin: perAdmin } = deps.config().console;
      return { perSession, perAdmin };
    },
    audit: deps.audit,
    clock: deps.clock,
    clientIp: deps.clientIp,
  });
  const ctx = createConsoleContext(deps, createConsoleGate(deps), liveStreams);
  // The overview's counts are rolled up in the background; close() stops it before the store closes.
  const rollups = startOverviewRollups({ db: deps.db, clock: deps.clock, onError: (error) => app.log.warn({ err: error }, 'console rollup pass failed; retrying') });
  void app.register(
    async (scope) => {
      scope.setErrorHandler(async (error, request, reply) => {
        // Anything that is not a refusal (a store outage, a bug) goes to the server's own handler.
        if (!isGatehouseError(error)) throw error;
        if (error.status >= 500) request.log.error({ err: error }, 'console error');
        if (!wantsJson(request)) {
          if (error.code === 'admin_session_required' && request.method === 'GET') return reply.redirect(`/sign-in?return_to=${encodeURIComponent(request.url)}`, 303);
          if (error.code === 'admin_step_up_required') return reply.redirect(`/sign-in?step_up=1&return_to=${encodeURIComponent(pageOf(request))}`, 303);
        }
        reply.code(error.status);
        if (wantsJson(request)) return reply.send({ error: error.code, message: error.publicMessage, requestId: request.id, ...(CLIENT_ACTION_CODES.has(error.code) ? { code: error.code } : {}) });
        const refused = error.status === 401 || error.status === 403;
        return reply.type('text/html; charset=utf-8').send(
          messagePage(
            { organisation: deps.settings().organisation, csrfToken: '' },
            {
              title: refused ? 'Not available' : 'That did not work',
              message: error.publicMessage,
              requestId: request.id,
              action: refused ? { href: '/account', label: 'Go to your account' } : { href: pageOf(request), label: 'Back' },
            },
          ),
        );
      });
      scope.addHook('onSend', async (_request, reply, payload) => {
        // Assets are public and cacheable; everything else here shows what only admins may see.
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
        return payload;
      });
      scope.get('/assets/:name', async (request, reply) => {
        const asset = assets.get((request.params as { name: string }).name);
        if (!asset) return reply.callNotFound();
        return reply.header('cache-control', 'public, max-age=300').type(asset.type).send(asset.body);
      });
      registerOverviewPage(scope, ctx);
      registerSessionsPage(scope, ctx);
      registerUsersPage(scope, ctx);
      registerTokensPage(scope, ctx);
      registerAppsPage(scope, ctx);
      registerAuditPage(scope, ctx);
      registerReportsPage(scope, ctx);
      registerDnsPage(scope, ctx);
      registerIncidentsPage(scope, ctx);
    },
    { prefix: '/admin' },
  );
  return { close: () => rollups.stop(), applyChange: (change) => liveStreams.applyChange(change) };
}
