/**
 * The portal over HTTP in-process (fastify inject): CSRF, bad input, headers, and that the process keeps
 * serving and stores nothing after hostile requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftwareAuthenticator } from '../../src/identity/webauthn/test-support/software-authenticator.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
beforeAll(async () => {
  fx = await startFixture({ legacy: { password: true, totp: true } });
});
afterAll(() => fx.close());

function cookiesOf(setCookie: string | string[] | undefined): Record<string, string> {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  return Object.fromEntries(list.map((c) => c.split(';')[0]!.split('=') as [string, string]));
}

async function csrf(): Promise<{ token: string; cookie: string }> {
  const page = await fx.gatehouse.inject({ method: 'GET', url: '/sign-in', headers: { host: fx.portalHost } });
  const token = /name="csrf-token" content="([^"]+)"/.exec(page.body)![1]!;
  return { token, cookie: `gatehouse_csrf=${cookiesOf(page.headers['set-cookie']).gatehouse_csrf}` };
}

async function counts() {
  const db = fx.gatehouse.core.store.db;
  const [users, sessions, credentials] = await Promise.all(
    (['users', 'sessions', 'credentials'] as const).map((t) => db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst()),
  );
  return { users: Number(users?.n), sessions: Number(sessions?.n), credentials: Number(credentials?.n) };
}

describe('portal pages', () => {
  it('serves the sign-in page with a strict CSP, no framing and no caching', async () => {
    const res = await fx.gatehouse.inject({ method: 'GET', url: '/sign-in', headers: { host: fx.portalHost } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).not.toMatch(/<script>(?!<\/script>)/); // no inline script
    expect(res.body).not.toContain(' style='); // the CSP would drop inline styles
    const cookie = [res.headers['set-cookie']].flat().join(';');
    expect(cookie).toMatch(/gatehouse_csrf=.*HttpOnly.*SameSite=Strict/i);
  });

  it('redirects the account page to sign-in without a session', async () => {
    const res = await fx.gatehouse.inject({ method: 'GET', url: '/account', headers: { host: fx.portalHost } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/sign-in?return_to=%2Faccount');
  });

  it('never redirects to a foreign host after sign-in (no open redirect)', async () => {
    for (const target of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
      const res = await fx.gatehouse.inject({ method: 'GET', url: `/sign-in?return_to=${encodeURIComponent(target)}`, headers: { host: fx.portalHost } });
      expect(res.body).toContain('data-return-to="/account"');
    }
  });
});

describe('CSRF on state-changing requests', () => {
  it('refuses a POST without the token (csrf_token) and from a foreign origin (csrf_origin)', async () => {
    const { token, cookie } = await csrf();
    const noToken = await fx.gatehouse.inject({ method: 'POST', url: '/api/sign-in/options', headers: { host: fx.portalHost, origin: fx.portalOrigin, 'content-type': 'application/json' }, payload: {} });
    expect(noToken.statusCode).toBe(403);
    const foreign = await fx.gatehouse.inject({
      method: 'POST',
      url: '/api/sign-in/options',
      headers: { host: fx.portalHost, origin: 'http://acme-okta.localhost', cookie, 'x-csrf-token': token, 'content-type': 'application/json' },
      payload: {},
    });
    expect(foreign.statusCode).toBe(403);
    const logged = fx.logs.join('');
    expect(logged).toContain('"code":"csrf_token"');
    expect(logged).toContain('"code":"csrf_origin"');
    const ok = await fx.gatehouse.inject({
      method: 'POST',
      url: '/api/sign-in/options',
      headers: { host: fx.portalHost, origin: fx.portalOrigin, cookie, 'x-csrf-token': token, 'content-type': 'application/json' },
      payload: {},
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().options.rpId).toBe('acme.localhost');
  });
});

describe('bad input gets a clear 4xx, stores nothing, and the process keeps serving', () => {
  it('malformed JSON, wrong types, unknown fields, oversized bodies, garbage WebAuthn responses', async () => {
    const before = await counts();
    const { token, cookie } = await csrf();
    const headers = { host: fx.portalHost, origin: fx.portalOrigin, cookie, 'x-csrf-token': token, 'content-type': 'application/json' };
    const cases: [string, string | object, number][] = [
      ['/api/sign-in/verify', '{"challengeId": ', 400],
      ['/api/sign-in/verify', { challengeId: 5, response: {} }, 400],
      ['/api/sign-in/verify', { challengeId: 'x', response: {}, admin: true }, 400],
      ['/api/sign-in/verify', { challengeId: 'x'.repeat(65), response: {} }, 400],
      ['/api/sign-in/verify', { challengeId: 'nope', response: { id: '!!', rawId: '!!', type: 'public-key', response: {} } }, 400],
      ['/api/enroll/options', { token: 'not-a-real-invite-token-at-all' }, 400],
      ['/api/enroll/verify', { challengeId: 'a', token: 'b', response: 'c' }, 400],
      ['/api/sign-in/options', 'x'.repeat(200_000), 413],
    ];
    for (const [url, payload, status] of cases) {
      const res = await fx.gatehouse.inject({ method: 'POST', url, headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
      expect(res.statusCode, `${url} ${String(payload).slice(0, 40)}`).toBe(status);
      expect(res.json().message).toBeTypeOf('string');
      expect(res.json().message).not.toMatch(/webauthn_|invite_|stack|at \//); // generic, no internals
    }
    const sign = await fx.gatehouse.inject({ method: 'POST', url: '/sign-in/password', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=nobody%40acme.test&password=x&code=1' });
    expect(sign.statusCode).toBe(401);
    expect(sign.body).toContain('Sign-in failed. Try again.');
    expect(await counts()).toEqual(before);
    const health = await fx.gatehouse.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
  });

  it('an expired or reused invite link shows a plain page, not an error dump', async () => {
    const res = await fx.gatehouse.inject({ method: 'GET', url: '/enroll?token=' + 'A'.repeat(43), headers: { host: fx.portalHost } });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('This link cannot be used');
    const [event] = await fx.gatehouse.core.audit.list({ type: 'enrollment' });
    expect(event).toMatchObject({ outcome: 'failure', code: 'invite_unknown' });
  });
});

describe('sign-in over HTTP sets a host-only, HttpOnly session cookie and exposes metrics', () => {
  it('enrols with a software authenticator and counts the sign-in', async () => {
    const { identity } = fx.gatehouse.core;
    const invite = await identity.invite({ email: 'http-user@acme.test', actor: 'test' });
    const inviteToken = new URL(invite.url).searchParams.get('token')!;
    const { token, cookie } = await csrf();
    const headers = { host: fx.portalHost, origin: fx.portalOrigin, cookie, 'x-csrf-token': token, 'content-type': 'application/json' };
    const options = (await fx.gatehouse.inject({ method: 'POST', url: '/api/enroll/options', headers, payload: { token: inviteToken } })).json();
    const key = new SoftwareAuthenticator();
    const response = key.register({ challenge: options.options.challenge, origin: fx.portalOrigin, rpId: 'acme.localhost', userId: new Uint8Array(Buffer.from(options.options.user.id, 'base64url')) });
    const done = await fx.gatehouse.inject({ method: 'POST', url: '/api/enroll/verify', headers, payload: { challengeId: options.challengeId, token: inviteToken, response, name: 'HTTP key' } });
    expect(done.statusCode).toBe(200);
    const setCookie = [done.headers['set-cookie']].flat().find((c) => c?.startsWith('gatehouse_session='))!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).not.toMatch(/Domain=/i);

    const start = (await fx.gatehouse.inject({ method: 'POST', url: '/api/sign-in/options', headers, payload: {} })).json();
    const assertion = key.authenticate({ challenge: start.options.challenge, origin: fx.portalOrigin, rpId: 'acme.localhost' });
    const signed = await fx.gatehouse.inject({ method: 'POST', url: '/api/sign-in/verify', headers, payload: { challengeId: start.challengeId, response: assertion } });
    expect(signed.statusCode).toBe(200);
    const bad = key.authenticate({ challenge: start.options.challenge, origin: 'http://acme-okta.localhost', rpId: 'acme.localhost' });
    const refused = await fx.gatehouse.inject({ method: 'POST', url: '/api/sign-in/verify', headers, payload: { challengeId: start.challengeId, response: bad } });
    expect(refused.statusCode).toBe(400); // challenge already used: replay
    const metrics = await fx.gatehouse.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/gatehouse_sign_ins_total\{method="webauthn",result="success"\} 1/);
    expect(metrics.body).toMatch(/gatehouse_sign_ins_total\{method="webauthn",result="webauthn_challenge_unknown"\} [1-9]/);
    expect(metrics.body).toMatch(/gatehouse_active_sessions [1-9]/);
    expect(fx.logs.join('')).not.toContain(inviteToken); // no secret in a log
    const sessionToken = setCookie.split(';')[0]!.split('=')[1]!;
    expect(fx.logs.join('')).not.toContain(sessionToken);
  });
});
