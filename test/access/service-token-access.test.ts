/**
 * Service tokens through the access proxy, over real sockets: a machine with a valid token for an app
 * passes without a browser session and the upstream receives a signed JWT naming the token; every
 * refusal gets the same answer and its own code in the audit log; no token header ever reaches an
 * upstream; a person's session never satisfies a token policy; an emergency rotation on one instance is
 * refused on another once it has the feed row.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_TOKEN_PUBLIC_MESSAGE, type IssuedServiceToken } from '../../src/credentials/index.js';
import { ManualClock } from '../../src/lib/clock.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { runGatehouse } from '../support/cli.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

interface Seen {
  host: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
}

let upstream: http.Server;
const seen: Seen[] = [];
let fx: GatehouseFixture;
const clock = new ManualClock(Date.UTC(2026, 11, 7, 10, 0, 0));

function appsYaml(port: number): string {
  const upstreamUrl = `http://127.0.0.1:${port}`;
  return `apps:
  - name: deploy
    host: deploy.acme.localhost
    upstream: ${upstreamUrl}
    policies:
      - { name: machines, action: allow, include: [{ service_token: [ci-deploy, short-lived, paused, retired] }] }
      - { name: nightly, action: allow, include: [{ service_token_tag: [nightly] }], require: [{ method: [GET] }] }
      - { name: admins, action: allow, include: [{ group: [admins] }] }
  - name: wiki
    host: wiki.acme.localhost
    upstream: ${upstreamUrl}
    policies:
      - { name: health, action: bypass, include: [{ path: ["/health"] }] }
      - { name: staff, action: allow, include: [{ group: [staff] }] }
  - name: payroll
    host: payroll.acme.localhost
    upstream: ${upstreamUrl}
    policies:
      - { name: machines, action: allow, include: [{ service_token: [ci-deploy] }] }
`;
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    seen.push({ host: req.headers.host ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`upstream ${req.url}`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  fx = await startFixture({ clock, extraYaml: appsYaml((upstream.address() as AddressInfo).port) });
});
afterAll(async () => {
  await fx?.close();
  await new Promise((r) => upstream?.close(r));
});

const app = (name: string, path = '/', port = fx.port) => `http://${name}.acme.localhost:${port}${path}`;
const create = (name: string, extra: { apps?: string[]; tags?: string[]; ttlMs?: number } = {}) =>
  fx.gatehouse.serviceTokens.create({ name, owner: 'build@acme.test', description: 'CI', tags: extra.tags ?? ['ci'], apps: extra.apps ?? ['deploy', 'wiki'], ttlMs: extra.ttlMs, actor: 'admin@acme.test' });
const withToken = (token: Pick<IssuedServiceToken, 'clientId' | 'secret'>, extra: Record<string, string> = {}) => ({
  headers: { 'Gatehouse-Client-Id': token.clientId, 'Gatehouse-Client-Secret': token.secret, 'user-agent': 'deploy-bot/1.0', ...extra },
});

async function jwks(port = fx.port) {
  return createLocalJWKSet(JSON.parse((await new TestBrowser(port).fetch(`http://${fx.portalHost}:${port}/.well-known/jwks.json`)).body));
}

/** Everything a refused token request must look like, and the audit event it left. */
async function expectRefused(reply: { status: number; body: string; location: string | undefined }, before: number, type = 'service_token.refused') {
  expect(reply.status).toBe(403);
  expect(reply.location).toBeUndefined();
  const body = JSON.parse(reply.body) as { error: string; message: string; requestId: string };
  expect(body).toMatchObject({ error: 'service_token_refused', message: SERVICE_TOKEN_PUBLIC_MESSAGE });
  expect(seen.length).toBe(before); // nothing reached the upstream
  // The audit event is written after the answer leaves (off the request path): poll for it.
  const find = async () => (await fx.gatehouse.core.audit.list({ type })).find((e) => e.detail.requestId === body.requestId);
  await expect.poll(find, { timeout: 10_000 }).toBeDefined();
  return (await find())!;
}

describe('a machine with a service token', () => {
  it('passes without a browser session; the upstream gets a signed JWT naming the token and no token header', async () => {
    const issued = await create('ci-deploy', { apps: ['deploy', 'wiki'] });
    const before = seen.length;
    const reply = await new TestBrowser(fx.port).fetch(app('deploy', '/release?v=2'), withToken(issued, { 'Gatehouse-Jwt-Assertion': 'forged.by.client', 'x-forwarded-for': '203.0.113.9' }));
    expect(reply).toMatchObject({ status: 200, body: 'upstream /release?v=2' });
    expect(seen.length).toBe(before + 1);
    const request = seen.at(-1)!;
    const names = request.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).not.toContain('gatehouse-client-id');
    expect(names).not.toContain('gatehouse-client-secret');
    expect(names.filter((n) => n === 'gatehouse-jwt-assertion')).toHaveLength(1);
    expect(request.rawHeaders.join('\n')).not.toContain(issued.secret);
    const token = request.headers['gatehouse-jwt-assertion'] as string;
    expect(token).not.toBe('forged.by.client');
    const { payload, protectedHeader } = await jwtVerify(token, await jwks(), { issuer: fx.portalOrigin, audience: 'deploy', currentDate: new Date(clock.now()) });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe('service-token:ci-deploy');
    expect(payload.gatehouse_token).toEqual({ name: 'ci-deploy', client_id: issued.clientId, owner: 'build@acme.test' });
    for (const claim of ['email', 'groups', 'amr', 'auth_time']) expect(payload).not.toHaveProperty(claim);
  });

  it('is let in by tag under the policy that names the tag, and only where that policy allows', async () => {
    const issued = await create('nightly-backup', { tags: ['nightly'], apps: ['deploy'] });
    expect((await new TestBrowser(fx.port).fetch(app('deploy', '/backup'), withToken(issued))).status).toBe(200);
    const before = seen.length;
    const post = await new TestBrowser(fx.port).fetch(app('deploy', '/backup'), { method: 'POST', ...withToken(issued) });
    const event = await expectRefused(post, before, 'access.denied');
    expect(event).toMatchObject({ actor: 'service_token:nightly-backup', code: 'no_policy_matched' });
  });

  it('records last use (time, address, app, user agent) off the request path, visible in tokens list after a flush', async () => {
    await fx.gatehouse.serviceTokens.flushUse();
    const listed = await runGatehouse(['tokens', 'list', '--json'], { config: fx.configPath });
    expect(listed.code).toBe(0);
    const row = (JSON.parse(listed.stdout) as { name: string; lastUsedAt: string | null; lastUsedIp: string | null; lastUsedApp: string | null }[]).find((r) => r.name === 'ci-deploy');
    expect(row).toMatchObject({ lastUsedIp: '127.0.0.1', lastUsedApp: 'deploy' });
    expect(Date.parse(row!.lastUsedAt!)).toBe(clock.now());
    expect((await fx.gatehouse.serviceTokens.show('ci-deploy')).lastUsedUserAgent).toBe('deploy-bot/1.0');
  });
});

describe('gatehouse policy test --service-token', () => {
  it("judges a machine's request with the stored token's tags, and notes an app the token does not name", async () => {
    const allowed = await runGatehouse(['policy', 'test', '--app', 'deploy', '--service-token', 'ci-deploy', '--json'], { config: fx.configPath });
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ outcome: 'allow', policy: 'machines', serviceToken: 'ci-deploy', notes: [] });
    const elsewhere = await runGatehouse(['policy', 'test', '--app', 'payroll', '--service-token', 'nightly-backup', '--json'], { config: fx.configPath });
    expect(JSON.parse(elsewhere.stdout)).toMatchObject({ outcome: 'deny', notes: [expect.stringContaining('service_token_app_not_allowed')] });
    const both = await runGatehouse(['policy', 'test', '--app', 'deploy', '--service-token', 'ci-deploy', '--user', 'a@acme.test'], { config: fx.configPath });
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('--user and --service-token');
    const missing = await runGatehouse(['policy', 'test', '--app', 'deploy', '--service-token', 'ghost'], { config: fx.configPath });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ghost');
  });
});

describe('refused token requests: one answer, the cause in the audit log', () => {
  const refusedWith = async (url: string, headers: Record<string, string>, code: string) => {
    const before = seen.length;
    const reply = await new TestBrowser(fx.port).fetch(url, { headers });
    const event = await expectRefused(reply, before);
    expect(event).toMatchObject({ type: 'service_token.refused', outcome: 'failure', code });
    expect(JSON.stringify(event)).not.toMatch(/gh-secret-/);
    return event;
  };

  it('a wrong secret, an unknown client id, malformed headers, another app', async () => {
    const issued = await create('scoped', { apps: ['deploy'] });
    const other = await create('someone-else', { apps: ['deploy'] });
    await refusedWith(app('deploy'), withToken({ clientId: issued.clientId, secret: other.secret }).headers, 'service_token_bad_secret');
    await refusedWith(app('deploy'), withToken({ clientId: `gh-svc-${'A'.repeat(22)}`, secret: issued.secret }).headers, 'service_token_unknown');
    await refusedWith(app('deploy'), { 'Gatehouse-Client-Id': issued.clientId }, 'service_token_malformed');
    await refusedWith(app('deploy'), { 'Gatehouse-Client-Id': issued.clientId, 'Gatehouse-Client-Secret': `${issued.secret}x` }, 'service_token_malformed');
    const event = await refusedWith(app('payroll'), withToken(issued).headers, 'service_token_app_not_allowed');
    expect(event.detail).toMatchObject({ app: 'payroll', name: 'scoped', clientId: issued.clientId });
  });

  it('an expired, a suspended and a revoked token', async () => {
    const short = await create('short-lived', { ttlMs: 60_000 });
    expect((await new TestBrowser(fx.port).fetch(app('deploy'), withToken(short))).status).toBe(200);
    clock.advance(61_000);
    await refusedWith(app('deploy'), withToken(short).headers, 'service_token_expired');

    const paused = await create('paused');
    await fx.gatehouse.serviceTokens.suspend('paused', { actor: 'admin@acme.test', reason: 'investigating' });
    await refusedWith(app('deploy'), withToken(paused).headers, 'service_token_suspended');
    await fx.gatehouse.serviceTokens.resume('paused', { actor: 'admin@acme.test' });
    expect((await new TestBrowser(fx.port).fetch(app('deploy'), withToken(paused))).status).toBe(200);

    const retired = await create('retired');
    await fx.gatehouse.serviceTokens.revoke('retired', { actor: 'admin@acme.test', reason: 'leaked' });
    await refusedWith(app('deploy'), withToken(retired).headers, 'service_token_revoked');
  });

  it('a browser asking for a page gets the same message as a page, still 403 and no redirect', async () => {
    const reply = await new TestBrowser(fx.port).fetch(app('deploy'), { headers: { 'Gatehouse-Client-Id': 'nope', accept: 'text/html' } });
    expect(reply.status).toBe(403);
    expect(reply.location).toBeUndefined();
    expect(reply.body).toContain(SERVICE_TOKEN_PUBLIC_MESSAGE);
  });

  it('headers sent to a session-only app are refused, never redirected to sign-in, whatever the token', async () => {
    const issued = await create('wiki-reader', { apps: ['wiki'] });
    const before = seen.length;
    const valid = await new TestBrowser(fx.port).fetch(app('wiki', '/page'), withToken(issued));
    const event = await expectRefused(valid, before, 'access.denied');
    expect(event).toMatchObject({ actor: 'service_token:wiki-reader', code: 'no_policy_matched' });
    // Even the bypass path: a request carrying token headers is judged by its token.
    await refusedWith(app('wiki', '/health'), { 'Gatehouse-Client-Id': issued.clientId, 'Gatehouse-Client-Secret': 'wrong' }, 'service_token_malformed');
  });
});

describe('people and token policies', () => {
  it("a person's session never satisfies a service_token policy", async () => {
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'dev@acme.test', ['staff']);
    const hops = await browser.follow(app('deploy'));
    expect(browser.cookies('deploy.acme.localhost').has('gatehouse_app_session')).toBe(true);
    const last = hops.at(-1)!;
    expect(last.status).toBe(403);
    expect(last.body).toContain('You cannot open deploy');
    const [event] = await fx.gatehouse.core.audit.list({ type: 'access.denied' });
    expect(event).toMatchObject({ code: 'no_policy_matched' });
    expect(event!.detail.reasons).toEqual(expect.arrayContaining([expect.stringContaining('service_token: no service token')]));
  });

  it('token headers beside a valid session: the request is judged by the token alone, never by the cookie', async () => {
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'both@acme.test', ['staff']);
    expect((await browser.follow(app('wiki', '/page'))).at(-1)!.status).toBe(200);
    const before = seen.length;
    const reply = await browser.fetch(app('wiki', '/page'), { headers: { 'Gatehouse-Client-Id': `gh-svc-${'Z'.repeat(22)}`, 'Gatehouse-Client-Secret': `gh-secret-${'Z'.repeat(43)}` } });
    const event = await expectRefused(reply, before);
    expect(event.code).toBe('service_token_unknown');
  });

  it('a client never gets a token header or an assertion of its own past the proxy, spelled with dashes or underscores', async () => {
    const before = seen.length;
    const reply = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: fx.port,
        path: '/health',
        headers: { host: `wiki.acme.localhost:${fx.port}`, Gatehouse_Client_Id: 'gh-svc-x', Gatehouse_Client_Secret: 'gh-secret-x', Gatehouse_Jwt_Assertion: 'forged', 'Gatehouse-Jwt-Assertion': 'forged' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(reply).toBe(200);
    expect(seen.length).toBe(before + 1);
    const text = seen.at(-1)!.rawHeaders.join('\n').toLowerCase();
    expect(text).not.toContain('gatehouse_');
    expect(text).not.toContain('gatehouse-client');
    expect(text).not.toContain('forged');
  });
});

const pgAvailable = await havePostgres();

for (const engine of [{ name: 'one SQLite file', postgres: false }, ...(pgAvailable ? [{ name: 'PostgreSQL', postgres: true }] : [])]) describe(`two instances (${engine.name})`, () => {
  let a: GatehouseFixture;
  let b: GatehouseFixture;
  const clockAB = new ManualClock(Date.UTC(2026, 11, 7, 10, 0, 0));
  beforeAll(async () => {
    const port = (upstream.address() as AddressInfo).port;
    const databaseUrl = engine.postgres ? await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_service_token_proxy') : undefined;
    a = await startFixture({ clock: clockAB, extraYaml: appsYaml(port), ...(databaseUrl ? { databaseUrl } : {}) });
    b = await startFixture({ clock: clockAB, extraYaml: appsYaml(port), ...(databaseUrl ? { databaseUrl } : { dir: a.dir }) });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('an emergency rotation on one instance refuses the old secret on the other once the feed row is applied', async () => {
    const issued = await a.gatehouse.serviceTokens.create({ name: 'ci-deploy', owner: 'build@acme.test', apps: ['deploy'], actor: 'admin@acme.test' });
    await b.gatehouse.feed.pollNow();
    const onB = (secret: string) => new TestBrowser(b.port).fetch(app('deploy', '/', b.port), withToken({ clientId: issued.clientId, secret }));
    expect((await onB(issued.secret)).status).toBe(200);
    const rotated = await a.gatehouse.serviceTokens.rotate('ci-deploy', { emergency: true, actor: 'responder@acme.test' });
    await b.gatehouse.feed.pollNow();
    const refused = await onB(issued.secret);
    expect(refused.status).toBe(403);
    const { requestId } = JSON.parse(refused.body) as { requestId: string };
    // The refusal's audit event is written after the answer leaves (off the request path): poll for it.
    const refusal = async () => (await b.gatehouse.core.audit.list({ type: 'service_token.refused' })).find((e) => e.detail.requestId === requestId);
    await expect.poll(refusal, { timeout: 10_000 }).toMatchObject({ code: 'service_token_bad_secret' });
    const accepted = await onB(rotated.secret);
    expect(accepted.status).toBe(200);
    const token = seen.at(-1)!.headers['gatehouse-jwt-assertion'] as string;
    // Both instances sign with the shared keys and publish the same JWKS.
    const { payload } = await jwtVerify(token, await jwks(a.port), { audience: 'deploy', currentDate: new Date(clockAB.now()) });
    expect(payload.sub).toBe('service-token:ci-deploy');
  });
});
