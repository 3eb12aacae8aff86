/**
 * A complete Gatehouse (SQLite file, the real composition root) in its own process for the credentials
 * benchmark, with one app whose first policy lets a service token in and whose second lets a staff
 * member in. It makes a token and a signed-in browser session for that app, then prints
 * `{"port":N,"host":H,"clientId":C,"secret":S,"cookie":K}` and serves until SIGTERM.
 * argv: <upstream origin>
 */
import { startFixture } from '../../test/support/gatehouse-fixture.js';
import { TestBrowser } from '../../test/support/http-client.js';
import { enrolThroughPortal } from '../../test/support/portal-sign-in.js';

const upstream = process.argv[2]!;
const HOST = 'bench.acme.localhost';
const fx = await startFixture({
  extraYaml: `apps:
  - name: bench
    host: ${HOST}
    upstream: ${upstream}
    max_requests_per_client: 100000
    policies:
      - { name: machines, action: allow, include: [{ service_token: [bench-bot] }] }
      - { name: staff, action: allow, include: [{ group: [staff] }] }
`,
});
// Request logging would dominate both paths alike; the benchmark measures the access check.
const issued = await fx.gatehouse.serviceTokens.create({ name: 'bench-bot', owner: 'bench@acme.test', apps: ['bench'], actor: 'bench' });
const browser = new TestBrowser(fx.port);
await enrolThroughPortal(fx, browser, 'bench@acme.test', ['staff']);
const hops = await browser.follow(`http://${HOST}:${fx.port}/`);
if (hops.at(-1)!.status !== 200) throw new Error(`session setup failed: ${hops.map((h) => h.status).join(' ')}`);
const cookie = `gatehouse_app_session=${browser.cookies(HOST).get('gatehouse_app_session')!}`;
process.stdout.write(`${JSON.stringify({ port: fx.port, host: HOST, clientId: issued.clientId, secret: issued.secret, cookie })}\n`);
process.on('SIGTERM', () => void fx.close().finally(() => process.exit(0)));
