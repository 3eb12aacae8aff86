/**
 * The access proxy end to end over real sockets: handshake, policies, signed identity, hostile input.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { STATIC_PAGE_CSP } from '../../src/portal/index.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal, signInThroughPortal } from '../support/portal-sign-in.js';

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

let upstream: http.Server;
let upstreamPort: number;
const seen: Seen[] = [];
let fx: GatehouseFixture;
const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));

function appsYaml(port: number): string {
  const upstreamUrl = `http://127.0.0.1:${port}`;
  return `apps:
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
      - name: hardware-keys-only
        action: allow
        include: [{ group: [staff] }]
        require: [{ auth_method: [hwk] }]
  - name: deploy
    host: deploy.acme.localhost
    upstream: ${upstreamUrl}
    policies:
      - name: recent-key
        action: allow
        include: [{ group: [staff] }]
        require: [{ auth_method: [phishing_resistant] }, { auth_age: 10 }]
`;
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`upstream ${req.url}`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  fx = await startFixture({ clock, extraYaml: appsYaml(upstreamPort) });
});
afterAll(async () => {
  await fx?.close();
  await new Promise((r) => upstream.close(r));
});

const app = (name: string, path = '/') => `http://${name}.acme.localhost:${fx.port}${path}`;

async function signedInBrowser(email: string, groups = ['staff']) {
  const browser = new TestBrowser(fx.port);
  const key = await enrolThroughPortal(fx, browser, email, groups);
  return { browser, key };
}

describe('sign-in handshake for app hosts', () => {
  it('sends an anonymous browser to the portal and back with an app cookie, then proxies with a signed identity', async () => {
    const { browser } = await signedInBrowser('ann@acme.test');
    const hops = await browser.follow(app('wiki', '/page?x=1'));
    expect(hops.map((h) => h.status)).toEqual([302, 303, 302, 200]);
    expect(hops[0]!.location).toContain(`${fx.portalOrigin}/handshake?app=wiki`);
    expect(hops[1]!.location).toMatch(new RegExp(`^${app('wiki', '/.gatehouse/callback\\?code=')}`));
    expect(hops[3]!.body).toBe('upstream /page?x=1');
    expect(browser.cookies('wiki.acme.localhost').has('gatehouse_app_session')).toBe(true);

    const request = seen.at(-1)!;
    const token = request.headers['gatehouse-jwt-assertion'] as string;
    const jwks = (await browser.fetch(`${fx.portalOrigin}/.well-known/jwks.json`)).body;
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(JSON.parse(jwks)), {
      issuer: fx.portalOrigin,
      audience: 'wiki',
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ email: 'ann@acme.test', groups: ['staff'], amr: ['swk', 'mfa'] });
    expect(request.headers.cookie ?? '').not.toContain('gatehouse_session');
  });

  it('refuses a replayed code, a code for another app and a handshake to a host that is not an app', async () => {
    const { browser } = await signedInBrowser('ben@acme.test');
    const first = await browser.fetch(app('wiki'));
    const toPortal = await browser.fetch(first.location!);
    const callback = toPortal.location!;
    // The replaying client holds the link and the state cookie: only the code's single use stops it.
    const state = browser.cookies('wiki.acme.localhost').get('gatehouse_handshake')!;
    expect((await browser.fetch(callback)).status).toBe(302);
    const replayer = new TestBrowser(fx.port);
    replayer.cookies('wiki.acme.localhost').set('gatehouse_handshake', state);
    const replay = await replayer.fetch(callback);
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('Sign-in link not valid');

    const second = await browser.fetch((await browser.fetch(app('payroll'))).location!);
    const stolen = new URL(second.location!);
    const otherApp = new TestBrowser(fx.port);
    otherApp.cookies('wiki.acme.localhost').set('gatehouse_handshake', browser.cookies('payroll.acme.localhost').get('gatehouse_handshake')!);
    expect((await otherApp.fetch(app('wiki', `${stolen.pathname}${stolen.search}`))).status).toBe(400);
    const failures = (await fx.gatehouse.core.audit.list({ type: 'access.handshake' })).map((e) => e.code);
    expect(failures).toEqual(['handshake_code_invalid', 'handshake_code_invalid']);

    const evil = await browser.fetch(`${fx.portalOrigin}/handshake?app=wiki&rd=${encodeURIComponent('http://evil.localhost/')}`);
    expect(evil.status).toBe(400);
  });

  it('bypass paths need no identity', async () => {
    const reply = await new TestBrowser(fx.port).fetch(app('wiki', '/health'));
    expect(reply).toMatchObject({ status: 200, body: 'upstream /health' });
    expect(seen.at(-1)!.headers['gatehouse-jwt-assertion']).toBeUndefined();
  });
});

describe('policies per app', () => {
  it('an app that requires hwk refuses a swk session with a page that says why, and audits it', async () => {
    const { browser } = await signedInBrowser('cat@acme.test');
    const hops = await browser.follow(app('payroll'));
    const last = hops.at(-1)!;
    expect(last.status).toBe(403);
    expect(last.body).toContain('You cannot open payroll');
    expect(last.body).toContain('This app needs a hardware security key');
    expect(last.body).toContain('cat@acme.test'); // the page names the account that was refused
    // On an app's origin 'self' is the upstream's: no script, no form, only the page's own style.
    expect(last.headers['content-security-policy']).toBe(STATIC_PAGE_CSP);
    expect(STATIC_PAGE_CSP).not.toMatch(/script-src|'self'|unsafe-inline/);
    const [event] = await fx.gatehouse.core.audit.list({ type: 'access.denied' });
    expect(event).toMatchObject({ outcome: 'failure', code: 'no_policy_matched' });
    expect(event!.detail).toMatchObject({ app: 'payroll', policy: null });
    expect(String((event!.detail.reasons as string[])[1])).toContain('lacks hwk');
  });

  it('a user outside the group is refused', async () => {
    const { browser } = await signedInBrowser('dan@acme.test', ['contractors']);
    const last = (await browser.follow(app('wiki'))).at(-1)!;
    expect(last.status).toBe(403);
    expect(last.body).toMatch(/group/i);
  });

  it('auth_age: an old key proof is sent to touch the key again, then comes back', async () => {
    const { browser, key } = await signedInBrowser('eve@acme.test');
    expect((await browser.follow(app('deploy'))).at(-1)!.status).toBe(200);
    clock.advance(11 * 60_000);
    const stale = await browser.fetch(app('deploy', '/release'));
    expect(stale.status).toBe(302);
    expect(stale.location).toBe(`${fx.portalOrigin}/sign-in?step_up=1&return_to=${encodeURIComponent(app('deploy', '/release'))}`);
    expect(await signInThroughPortal(fx, browser, key, { stepUp: true })).toBe(200);
    const fresh = await browser.fetch(app('deploy', '/release'));
    expect(fresh).toMatchObject({ status: 200, body: 'upstream /release' });
  });
});

describe('revocation and blocks apply on the next request', () => {
  it('sign out everywhere ends the app sessions too', async () => {
    const { browser } = await signedInBrowser('fay@acme.test');
    expect((await browser.follow(app('wiki'))).at(-1)!.status).toBe(200);
    const user = await fx.gatehouse.core.identity.users.require('fay@acme.test');
    await fx.gatehouse.core.identity.revokeUserSessions(user.id, { actor: 'test', reason: 'test' });
    const after = await browser.fetch(app('wiki'));
    expect(after.status).toBe(302); // back to the portal
  });

  it('an IP blocked at run time is refused before any app policy', async () => {
    const { browser } = await signedInBrowser('gus@acme.test');
    expect((await browser.follow(app('wiki'))).at(-1)!.status).toBe(200);
    const access = fx.gatehouse.access;
    await access.ipBlocks.block('127.0.0.1', { reason: 'test', actor: 'test' });
    try {
      const blocked = await browser.fetch(app('wiki'));
      expect(blocked.status).toBe(403);
      expect(blocked.body).toContain('network address is blocked');
    } finally {
      await access.ipBlocks.unblock('127.0.0.1', 'test');
    }
  });
});

describe('hostile input', () => {
  it('client-sent Gatehouse-* and forged X-Forwarded-* headers never reach the upstream as sent', async () => {
    const { browser } = await signedInBrowser('hal@acme.test');
    await browser.follow(app('wiki'));
    await browser.fetch(app('wiki', '/forged'), {
      headers: { 'gatehouse-jwt-assertion': 'forged.jwt.value', 'gatehouse-user': 'admin', 'x-forwarded-for': '10.9.9.9', 'x-forwarded-host': 'evil', 'x-forwarded-proto': 'https' },
    });
    const request = seen.at(-1)!;
    expect(request.url).toBe('/forged');
    expect(request.headers['gatehouse-jwt-assertion']).not.toBe('forged.jwt.value');
    expect(request.headers['gatehouse-user']).toBeUndefined();
    expect(request.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(request.headers['x-forwarded-host']).toBe(`wiki.acme.localhost:${fx.port}`);
    expect(request.headers['x-forwarded-proto']).toBe('http');
  });

  it('unknown and malformed Host headers are refused and never reach an app or the portal', async () => {
    const count = seen.length;
    expect((await new TestBrowser(fx.port).fetch(`http://unknown.acme.localhost:${fx.port}/`)).status).toBe(421);
    const raw = async (text: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(fx.port, '127.0.0.1', () => socket.end(text));
        let data = '';
        socket.on('data', (chunk) => (data += chunk));
        socket.on('close', () => resolve(data));
      });
    expect(await raw('GET / HTTP/1.1\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw('GET / HTTP/1.1\r\nHost: wiki.acme.localhost\r\nHost: payroll.acme.localhost\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw('GET / HTTP/1.1\r\nHost: wiki.acme.localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(seen.length).toBe(count);
    expect((await new TestBrowser(fx.port).fetch(`${fx.portalOrigin}/healthz`)).status).toBe(200);
  });
});
