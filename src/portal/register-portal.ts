import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { registerAccountRoutes } from './account-routes.js';
import { registerCampaignTaskRoutes } from './campaign-task-routes.js';
import { registerCliLoginRoutes } from './cli-login-routes.js';
import { registerEnrollRoutes } from './enroll-routes.js';
import { registerHandshakeRoutes } from './handshake-routes.js';
import { PORTAL_CSS } from './portal-css.js';
import { registerReportIntakeRoutes } from './report-intake-routes.js';
import { registerReportRoutes } from './report-routes.js';
import { isTls, type PortalDeps } from './portal-deps.js';
import { setSecurityHeaders } from './security-headers.js';
import { registerSignInRoutes } from './sign-in-routes.js';

// assets/ sits at the package root, two levels above both src/portal and dist/portal.
const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'portal');

function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const require = createRequire(import.meta.url);
  // The package exports no package.json; its CommonJS entry is script/index.js beside dist/.
  const browserBundle = join(dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js');
  return new Map([
    // Pages inline their style; the file stays for anything that linked it.
    ['portal.css', { type: 'text/css; charset=utf-8', body: Buffer.from(PORTAL_CSS) }],
    ['portal.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(ASSETS, 'portal.js')) }],
    ['simplewebauthn-browser.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(browserBundle) }],
  ]);
}

/** The sign-in portal: pages, the WebAuthn JSON endpoints, static assets and security headers. */
export function registerPortal(app: FastifyInstance, deps: PortalDeps): void {
  const assets = loadAssets();
  app.addHook('onSend', async (request, reply, payload) => {
    setSecurityHeaders(reply, isTls(request));
    return payload;
  });
  app.get('/assets/:name', async (request, reply) => {
    const asset = assets.get((request.params as { name: string }).name);
    if (!asset) return reply.callNotFound();
    return reply.header('cache-control', 'public, max-age=300').type(asset.type).send(asset.body);
  });
  app.get('/', async (_request, reply) => reply.redirect('/account', 303));
  registerSignInRoutes(app, deps);
  registerEnrollRoutes(app, deps);
  registerAccountRoutes(app, deps);
  registerHandshakeRoutes(app, deps);
  if (deps.campaignTasks) registerCampaignTaskRoutes(app, deps, deps.campaignTasks);
  if (deps.cliLogin) registerCliLoginRoutes(app, deps, deps.cliLogin);
  if (deps.reports) registerReportRoutes(app, deps, deps.reports);
  if (deps.reportIntake) registerReportIntakeRoutes(app, deps, deps.reportIntake);
}
