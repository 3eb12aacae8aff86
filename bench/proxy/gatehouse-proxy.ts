/**
 * Gatehouse's proxy path as its own process, per request: policy decision for an app with 10
 * policies (src/access/policy), the identity JWT from the assertion cache, a fresh request id, then
 * `proxy.forward`. The session is a fixed identity here (the sessions cache is measured by its own
 * benchmark); everything else is the production code. argv: <upstream origin> [full|forward-only];
 * forward-only skips the policy and the JWT, to show what the data plane alone costs.
 * Prints `{"port":N,"policies":10}` once listening; serves until SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { compilePolicyEngine, type AccessIdentity } from '../../src/access/policy/index.js';
import { createIdentityAssertionIssuer, createProxy, type AssertedIdentity } from '../../src/access/proxy/index.js';
import { appsSchema } from '../../src/config/index.js';
import { createMemorySigningKeyStore, createSigningKeyRing } from '../../src/credentials/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';

const upstream = process.argv[2]!;
const variant = process.argv[3] ?? 'full';
if (variant !== 'full' && variant !== 'forward-only') throw new Error(`unknown variant ${variant}; use full or forward-only`);
const APP = 'bench-app';

// Nine policies that do not match this user, then the one that allows: the engine walks all ten.
const policies = [
  { name: 'health', action: 'bypass', include: [{ path: ['/healthz'] }] },
  { name: 'block-contractors', action: 'block', include: [{ group: ['contractors'] }] },
  { name: 'finance', action: 'allow', include: [{ group: ['finance', 'payroll'] }], require: [{ auth_method: 'phishing_resistant' }] },
  { name: 'office-only', action: 'allow', include: [{ ip: ['10.0.0.0/8', '192.168.0.0/16'] }], require: [{ group: ['ops'] }] },
  { name: 'admins', action: 'allow', include: [{ email: ['root@acme.test', 'admin@acme.test'] }] },
  { name: 'api-writers', action: 'allow', include: [{ group: ['api'] }], require: [{ path: ['/api/*/write'] }] },
  { name: 'readonly', action: 'allow', include: [{ group: ['auditors'] }], require: [{ method: ['GET', 'HEAD'] }] },
  { name: 'partners', action: 'allow', include: [{ email_domain: ['partner.test'] }] },
  { name: 'night-shift', action: 'allow', include: [{ group: ['night'] }], require: [{ time: { hours: ['22:00-24:00'] } }] },
  { name: 'engineers', action: 'allow', include: [{ group: ['eng'] }], require: [{ auth_method: 'phishing_resistant' }], exclude: [{ group: ['suspended'] }] },
];
const apps = appsSchema.parse([{ name: APP, host: 'app.bench.test', upstream, policies }]);
const engine = compilePolicyEngine({ apps, access: { blocked_ips: [] } });
const app = engine.app(APP)!;

const ring = createSigningKeyRing({ store: createMemorySigningKeyStore(), clock: systemClock, random: cryptoRandom });
await ring.ensureKey();
const issuer = createIdentityAssertionIssuer({ keyRing: ring, clock: systemClock, issuer: 'https://sso.bench.test' });
const proxy = createProxy({ apps: [{ name: APP, upstream }], strippedCookies: ['gatehouse_session'] });

const now = Date.now();
const identity: AccessIdentity = { userId: 'u-1', email: 'alice@acme.test', groups: ['eng'], amr: ['hwk', 'mfa'], phishingResistantAt: now };
const asserted: AssertedIdentity = { sessionId: 's-1', subject: 'u-1', email: 'alice@acme.test', groups: ['eng'], amr: ['hwk', 'mfa'], authTime: now };

function forward(req: http.IncomingMessage, res: http.ServerResponse, assertion: string): void {
  proxy.forward(req, res, APP, { assertion, requestId: randomUUID() });
}

const server = http.createServer((req, res) => {
  if (variant === 'forward-only') return proxy.forward(req, res, APP, { requestId: randomUUID() });
  const decision = app.decide({ ip: req.socket.remoteAddress!, method: req.method!, path: req.url!, now: systemClock.now(), identity });
  if (!decision.allow) {
    res.writeHead(403);
    res.end();
    return;
  }
  // The cache answers synchronously on a hit; only a miss (once a minute per session and app) signs.
  const cached = issuer.cachedAssertionFor(asserted, APP);
  if (cached !== undefined) return forward(req, res, cached);
  issuer.assertionFor(asserted, APP).then(
    (assertion) => forward(req, res, assertion),
    () => {
      res.writeHead(503);
      res.end();
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, policies: policies.length })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
