/**
 * The app sign-in handshake is bound to the app's configured origin, to the browser that started it
 * and to a same-host return path, over real sockets against a full instance.
 *
 * How each piece is attacked, and the refusal each test asserts:
 * - Callback target (portal `/handshake`). A leaked or crafted link names `rd=http://wiki...:9/`
 *   (another scheme or port of the app host), a lookalike host, or carries credentials: if the code
 *   followed `rd`, whoever listens there (a live relay, a rogue process on port 9) would redeem it.
 *   The callback is built from config only; any `rd` off the configured origin is refused before a
 *   code exists (`handshake_target_invalid`). A hostile Host or X-Forwarded-Proto on the app request
 *   cannot change the origin either: it is never read for it.
 * - Browser binding (state cookie). Login CSRF / session planting: the attacker runs the handshake
 *   in his own browser and sends the victim his callback link, so the victim works in the attacker's
 *   account. A stolen callback link replayed elsewhere is the same shape. The app host sets a state
 *   cookie when it starts the handshake; the callback must come with it (`handshake_state_mismatch`),
 *   and the code is bound to that state, so even swapping in the victim's `state` finds no code
 *   (`handshake_code_invalid`).
 * - Return path. `//evil.example`, `/\evil.example`, `/%09/evil.example` turn the handshake into an
 *   open redirect with a fresh session (`handshake_return_invalid`); a Unicode space or control
 *   character must answer 400, never crash the Location header into a 500.
 * - Cookies. On https the app cookies carry `__Host-` and Secure, so a sibling host cannot toss them
 *   and plain http never carries them; plain-http `*.localhost` keeps bare names. The portal, app and
 *   CSRF cookies have distinct names, and none of them reaches an upstream.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appCookie, appCookieNamesOf } from '../../src/access/app-cookie-names.js';
import { appOriginOf } from '../../src/access/app-origin.js';
import { csrfCookieNameOf, portalSessionCookieNameOf } from '../../src/portal/index.js';
import { writeSelfSignedCertificate } from '../../src/cli/demo-config.js';
import { loadConfigFile } from '../../src/config/index.js';
import { startGatehouse, type RunningGatehouse } from '../../src/main.js';
import { haveCommand } from '../peers.js';
import { fixtureConfigYaml, freePort, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

let upstream: http.Server;
const seenCookies: string[] = [];
let fx: GatehouseFixture;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    seenCookies.push(req.headers.cookie ?? '');
    res.end(`upstream ${req.url}`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  fx = await startFixture({
    extraYaml: `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}
    policies: [{ action: allow, include: [{ group: [staff] }] }]
`,
  });
});
afterAll(async () => {
  await fx?.close();
  await new Promise((r) => upstream.close(r));
});

const WIKI = 'wiki.acme.localhost';
const wiki = (path = '/') => `http://${WIKI}:${fx.port}${path}`;

/** The code the portal logged for its last refusal (the client sees only a generic page). */
function lastPortalRefusal(): string | undefined {
  for (const line of [...fx.logs].reverse()) {
    if (!line.includes('request refused')) continue;
    return (JSON.parse(line) as { code?: string }).code;
  }
  return undefined;
}

let handshakeFailuresSeen = 0;
/** The code of the next handshake failure audited since the last call (the audit write trails the reply). */
async function lastHandshakeFailure(): Promise<string | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const events = await fx.gatehouse.core.audit.list({ type: 'access.handshake', limit: 1000 });
    if (events.length > handshakeFailuresSeen) {
      handshakeFailuresSeen = events.length;
      return events[0]?.code; // newest first
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

async function signedIn(email: string): Promise<TestBrowser> {
  const browser = new TestBrowser(fx.port);
  await enrolThroughPortal(fx, browser, email, ['staff']);
  return browser;
}

/** Runs the handshake up to (not into) the app callback; returns the callback URL. */
async function callbackFor(browser: TestBrowser, path = '/'): Promise<string> {
  const start = await browser.fetch(wiki(path));
  expect(start.location).toMatch(new RegExp(`^${fx.portalOrigin}/handshake\\?`));
  const toApp = await browser.fetch(start.location!);
  expect(toApp.status).toBe(303);
  return toApp.location!;
}

describe('the code goes only to the app origin from config', () => {
  it('builds the callback on the configured origin even when the app request carried a hostile X-Forwarded-Proto', async () => {
    const browser = await signedIn('origin@acme.test');
    const start = await browser.fetch(wiki('/page'), { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.localhost' } });
    const rd = new URL(start.location!).searchParams.get('rd');
    expect(rd).toBe(wiki('/page'));
    const toApp = await browser.fetch(start.location!);
    expect(new URL(toApp.location!).origin).toBe(`http://${WIKI}:${fx.port}`);
  });

  it.each([
    ['another port of the app host', (port: number) => `http://${WIKI}:${port === 9 ? 10 : 9}/`],
    ['https on the app host (a scheme not configured)', (port: number) => `https://${WIKI}:${port}/`],
    ['a lookalike host', (port: number) => `http://wiki.acme.localhost.evil.localhost:${port}/`],
    ['credentials in the URL', (port: number) => `http://user:pw@${WIKI}:${port}/`],
    ['an encoded tab the URL parser would drop', (port: number) => `http://${WIKI}:${port}/\t/evil.localhost`],
    ['a protocol-relative path', (port: number) => `http://${WIKI}:${port}//evil.localhost`],
  ])('refuses rd on %s: handshake_target_invalid', async (_name, rdOf) => {
    const browser = await signedIn(`rd-${Math.random().toString(36).slice(2)}@acme.test`);
    const state = 'a'.repeat(64);
    const reply = await browser.fetch(`${fx.portalOrigin}/handshake?app=wiki&state=${state}&rd=${encodeURIComponent(rdOf(fx.port))}`);
    expect(reply.status).toBe(400);
    expect(reply.location).toBeUndefined();
    expect(lastPortalRefusal()).toBe('handshake_target_invalid');
  });

  it('refuses a handshake without a state binding: handshake_target_invalid', async () => {
    const browser = await signedIn('nostate@acme.test');
    const reply = await browser.fetch(`${fx.portalOrigin}/handshake?app=wiki&rd=${encodeURIComponent(wiki('/'))}`);
    expect(reply.status).toBe(400);
    expect(lastPortalRefusal()).toBe('handshake_target_invalid');
  });
});

describe('the callback is bound to the browser that started it', () => {
  it('a callback planted in another browser (login CSRF) is refused: handshake_state_mismatch', async () => {
    const attacker = await signedIn('mallory@acme.test');
    const planted = await callbackFor(attacker);
    const victim = new TestBrowser(fx.port);
    const reply = await victim.fetch(planted);
    expect(reply.status).toBe(400);
    expect(reply.headers['set-cookie']).toBeUndefined();
    expect(await lastHandshakeFailure()).toBe('handshake_state_mismatch');
  });

  it('a victim who started a handshake of his own still refuses the attacker callback: handshake_state_mismatch', async () => {
    const attacker = await signedIn('mallory2@acme.test');
    const planted = await callbackFor(attacker);
    const victim = new TestBrowser(fx.port);
    await victim.fetch(wiki('/')); // the victim's own state cookie on the wiki host
    expect(victim.cookies(WIKI).get('gatehouse_handshake')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await victim.fetch(planted)).status).toBe(400);
    expect(await lastHandshakeFailure()).toBe('handshake_state_mismatch');
  });

  it("the attacker's code with the victim's state swapped in finds no code: handshake_code_invalid", async () => {
    const attacker = await signedIn('mallory3@acme.test');
    const planted = new URL(await callbackFor(attacker));
    const victim = new TestBrowser(fx.port);
    const victimStart = await victim.fetch(wiki('/'));
    planted.searchParams.set('state', new URL(victimStart.location!).searchParams.get('state')!);
    expect((await victim.fetch(planted.toString())).status).toBe(400);
    expect(await lastHandshakeFailure()).toBe('handshake_code_invalid');
    expect(victim.cookies(WIKI).has('gatehouse_app_session')).toBe(false);
  });

  it('a leaked callback link alone cannot be redeemed elsewhere: handshake_state_mismatch', async () => {
    const owner = await signedIn('leak@acme.test');
    const leaked = await callbackFor(owner);
    expect((await new TestBrowser(fx.port).fetch(leaked)).status).toBe(400);
    expect(await lastHandshakeFailure()).toBe('handshake_state_mismatch');
    // The owner still completes it: the failed attempt did not burn the code.
    expect((await owner.fetch(leaked)).status).toBe(302);
  });
});

describe('the return path stays on the app host', () => {
  it.each([['//evil.example'], ['/\\evil.example'], ['/%09/evil.example'], ['/%2F/evil.example'], ['evil.example'], ['https://evil.example/']])(
    'refuses rd=%s at the callback: handshake_return_invalid',
    async (rd) => {
      const browser = await signedIn(`ret-${Math.random().toString(36).slice(2)}@acme.test`);
      const callback = new URL(await callbackFor(browser));
      callback.searchParams.set('rd', rd);
      const reply = await browser.fetch(callback.toString());
      expect(reply.status).toBe(400);
      expect(reply.location).toBeUndefined();
      expect(await lastHandshakeFailure()).toBe('handshake_return_invalid');
    },
  );

  it.each([['\u2028'], ['\u00a0'], ['\u3000'], ['\u0000'], ['\u007f'], ['\u200b'], ['\u0085']])(
    'a return path with U+%s answers 400, not 500: handshake_return_invalid',
    async (character) => {
      const browser = await signedIn(`uni-${Math.random().toString(36).slice(2)}@acme.test`);
      const callback = new URL(await callbackFor(browser));
      callback.searchParams.set('rd', `/page${character}x`);
      const reply = await browser.fetch(callback.toString());
      expect(reply.status).toBe(400);
      expect(await lastHandshakeFailure()).toBe('handshake_return_invalid');
    },
  );

  it('a plain path (with a query and an encoded space) comes back as sent', async () => {
    const browser = await signedIn('plain@acme.test');
    const callback = await callbackFor(browser, '/My%20Page?tab=1');
    const reply = await browser.fetch(callback);
    expect(reply.status).toBe(302);
    expect(reply.location).toBe(wiki('/My%20Page?tab=1'));
  });
});

describe('cookie names and flags', () => {
  it('plain-http *.localhost: bare names, no Secure; the state cookie is cleared on success; no Gatehouse cookie reaches the app', async () => {
    const browser = await signedIn('cookies@acme.test');
    const start = await browser.fetch(wiki('/'));
    const stateCookie = [start.headers['set-cookie']].flat()[0]!;
    expect(stateCookie).toMatch(/^gatehouse_handshake=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600$/);
    const done = await browser.fetch((await browser.fetch(start.location!)).location!);
    const set = [done.headers['set-cookie']].flat() as string[];
    expect(set[0]).toMatch(/^gatehouse_app_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    expect(set[1]).toMatch(/^gatehouse_handshake=; .*Max-Age=0/);
    expect(browser.cookies(fx.portalHost).has('gatehouse_session')).toBe(true);
    seenCookies.length = 0;
    browser.cookies(WIKI).set('gatehouse_session', 'portal-cookie-tossed-here');
    browser.cookies(WIKI).set('gatehouse_csrf', 'csrf');
    browser.cookies(WIKI).set('gatehouse_handshake', 'x'.repeat(43));
    browser.cookies(WIKI).set('__Host-gatehouse_app_session', 'y');
    browser.cookies(WIKI).set('theme', 'dark');
    expect((await browser.fetch(wiki('/'))).status).toBe(200);
    expect(seenCookies).toEqual(['theme=dark']);
  });

  it('https origins: __Host- names for portal, app, state and CSRF cookies, all distinct', () => {
    const origin = appOriginOf('https://sso.acme.com', 'wiki.acme.com');
    expect(origin).toBe('https://wiki.acme.com');
    expect(appOriginOf('http://sso.acme.localhost:8080', 'wiki.acme.localhost')).toBe('http://wiki.acme.localhost:8080');
    const app = appCookieNamesOf(origin, 'gatehouse_app_session');
    expect(app).toEqual({ session: '__Host-gatehouse_app_session', handshakeState: '__Host-gatehouse_handshake', secure: true });
    expect(appCookieNamesOf('http://wiki.acme.localhost:8080', 'gatehouse_app_session').secure).toBe(false);
    // RFC 6265bis §4.1.3.2: a `__Host-` cookie is only accepted with Secure, Path=/ and no Domain.
    const set = appCookie(app.session, 'token', 60, app.secure);
    expect(set).toBe('__Host-gatehouse_app_session=token; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure');
    expect(set).not.toMatch(/domain=/i);
    const names = [portalSessionCookieNameOf('gatehouse_session', true), app.session, app.handshakeState, csrfCookieNameOf(true)];
    expect(new Set(names).size).toBe(4);
    for (const name of names) expect(name.startsWith('__Host-')).toBe(true);
  });
});

describe.runIf(haveCommand('openssl'))('over https', () => {
  let tls: RunningGatehouse;
  let port: number;
  let dispatcher: Agent;
  const logs: string[] = [];
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-host-prefix-'));
    await writeSelfSignedCertificate(dir, '*.acme.localhost');
    port = await freePort();
    const yaml = fixtureConfigYaml({ port, dir })
      .replace(`  http:\n    host: "::"\n    port: ${port}\n`, `  https:\n    host: "::"\n    port: ${port}\n    cert_file: ${join(dir, 'cert.pem')}\n    key_file: ${join(dir, 'key.pem')}\n`)
      .replace(`http://sso.acme.localhost:${port}`, `https://sso.acme.localhost:${port}`);
    const configPath = join(dir, 'gatehouse.yaml');
    writeFileSync(configPath, `${yaml}apps:\n  - name: wiki\n    host: ${WIKI}\n    upstream: http://127.0.0.1:9\n    policies: [{ action: allow, include: [{ group: [staff] }] }]\n`);
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    tls = await startGatehouse({ snapshot: loadConfigFile(configPath), logDestination: sink });
    dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  });
  afterAll(async () => {
    await dispatcher?.close();
    await tls?.close();
  });

  const get = (host: string, path: string) => request(`https://127.0.0.1:${port}${path}`, { headers: { host: `${host}:${port}` }, dispatcher });

  it('the app host sets a __Host- state cookie with Secure and sends an https rd; the portal sets __Host- CSRF', async () => {
    const start = await get(WIKI, '/page');
    expect(start.statusCode).toBe(302);
    await start.body.dump();
    expect(String(start.headers['set-cookie'])).toMatch(/^__Host-gatehouse_handshake=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600; Secure$/);
    const location = new URL(String(start.headers.location));
    expect(location.origin).toBe(`https://sso.acme.localhost:${port}`);
    expect(location.searchParams.get('rd')).toBe(`https://${WIKI}:${port}/page`);

    const signIn = await get('sso.acme.localhost', '/sign-in');
    await signIn.body.dump();
    expect(String(signIn.headers['set-cookie'])).toMatch(/^__Host-gatehouse_csrf=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
  });

  it('a plain-http rd for an https app is refused at the portal: handshake_target_invalid', async () => {
    const reply = await get('sso.acme.localhost', `/handshake?app=wiki&state=${'b'.repeat(64)}&rd=${encodeURIComponent(`http://${WIKI}:${port}/`)}`);
    await reply.body.dump();
    expect(reply.statusCode).toBe(400);
    const refusal = [...logs].reverse().find((line) => line.includes('request refused'));
    expect(JSON.parse(refusal!)).toMatchObject({ code: 'handshake_target_invalid' });
  });
});
