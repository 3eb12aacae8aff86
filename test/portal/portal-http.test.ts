/**
 * The portal over HTTP in-process (fastify inject): CSRF, bad input, headers, and that the process keeps
 * serving and stores nothing after hostile requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { LegacyFactors } from '../../src/identity/index.js';
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
      ['/api/enroll/activate', { activationId: 'a', token: 'b', response: {} }, 400],
      ['/api/enroll/activate', { activationId: 'a', token: 'b' }, 400],
      ['/api/enroll/activate', { activationId: 'a', token: 'b', response: {}, session: 'x' }, 400],
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
    const pending = await fx.gatehouse.inject({ method: 'POST', url: '/api/enroll/verify', headers, payload: { challengeId: options.challengeId, token: inviteToken, response, name: 'HTTP key' } });
    expect(pending.statusCode).toBe(200);
    expect(pending.headers['set-cookie']?.toString() ?? '').not.toContain('gatehouse_session='); // a registration alone signs nobody in
    const activation = pending.json() as { activationId: string; options: { challenge: string } };
    const proof = key.authenticate({ challenge: activation.options.challenge, origin: fx.portalOrigin, rpId: 'acme.localhost' });
    const done = await fx.gatehouse.inject({ method: 'POST', url: '/api/enroll/activate', headers, payload: { activationId: activation.activationId, token: inviteToken, response: proof } });
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
    const metrics = await fx.gatehouse.registry.metrics();
    expect(metrics).toMatch(/gatehouse_sign_ins_total\{method="webauthn",result="success"\} 1/);
    expect(metrics).toMatch(/gatehouse_sign_ins_total\{method="webauthn",result="webauthn_challenge_unknown"\} [1-9]/);
    expect(metrics).toMatch(/gatehouse_active_sessions [1-9]/);
    expect(fx.logs.join('')).not.toContain(inviteToken); // no secret in a log
    const sessionToken = setCookie.split(';')[0]!.split('=')[1]!;
    expect(fx.logs.join('')).not.toContain(sessionToken);
  });
});

describe('the legacy password form answers every refusal alike (no oracle for a sprayer or a relay)', () => {
  const PASSWORD = 'correct horse battery staple';

  async function legacyUser(email: string, withKey: boolean) {
    const { identity } = fx.gatehouse.core;
    const user = await identity.users.add({ email });
    await identity.legacy.setPassword(user.id, PASSWORD);
    const secret = await identity.legacy.enrollTotp(user.id);
    if (withKey) {
      await identity.credentials.add({
        id: randomBytes(32).toString('base64url'),
        userId: user.id,
        name: 'Blue key',
        publicKey: new Uint8Array(77),
        counter: 0,
        aaguid: '00000000-0000-0000-0000-000000000000',
        transports: ['usb'],
        authenticatorClass: 'hwk',
        backedUp: false,
      });
    }
    return { user, secret };
  }

  /** One page load, then form posts reusing its CSRF cookie: the answers can be compared byte for byte. */
  async function passwordForm() {
    const { token, cookie } = await csrf();
    return async (email: string, password: string, code: string, remoteAddress = '127.0.0.1') => {
      const payload = new URLSearchParams({ _csrf: token, email, password, code, return_to: '/account' }).toString();
      const res = await fx.gatehouse.inject({
        method: 'POST',
        url: '/sign-in/password',
        remoteAddress,
        headers: { host: fx.portalHost, origin: fx.portalOrigin, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
      return { status: res.statusCode, body: res.body, session: [res.headers['set-cookie']].flat().some((c) => c?.startsWith('gatehouse_session=')) };
    };
  }

  const auditCodes = async (userId: string) =>
    (await fx.gatehouse.core.audit.list({ type: 'sign_in', userId, limit: 1000 })).reverse().map((e) => (e.outcome === 'failure' ? e.code : e.outcome));

  it('a key holder: the right and a wrong password get byte-identical answers; the audit log tells them apart', async () => {
    const post = await passwordForm();
    const holder = await legacyUser('form-holder@acme.test', true);
    const plain = await legacyUser('form-plain@acme.test', false);
    const right = await post('form-holder@acme.test', PASSWORD, await LegacyFactors.codeFor(holder.secret, Date.now()));
    const wrong = await post('form-holder@acme.test', 'not the password!', '000000');
    expect(right.status).toBe(401);
    expect(right.body).toContain('Sign-in failed. Try again.');
    expect(wrong).toEqual(right);
    // A user without a key and a wrong password, a wrong code, an unknown email: the same bytes again.
    expect(await post('form-plain@acme.test', 'not the password!', '000000')).toEqual(right);
    expect(await post('form-plain@acme.test', PASSWORD, '000000')).toEqual(right);
    expect(await post('form-nobody@acme.test', PASSWORD, '000000')).toEqual(right);
    expect(await auditCodes(holder.user.id)).toEqual(['legacy_downgrade_refused', 'legacy_downgrade_refused']);
    expect(await auditCodes(plain.user.id)).toEqual(['bad_credentials', 'bad_totp']);
    // Whoever can scrape /metrics must not learn the reasons from its counters either.
    const metrics = await fx.gatehouse.registry.metrics();
    expect(metrics).toMatch(/gatehouse_sign_ins_total\{method="password",result="refused"\} [1-9]/);
    expect(metrics).not.toMatch(/method="password",result="(bad_credentials|bad_totp|legacy_downgrade_refused)"/);
  });

  it('40 wrong passwords from 8 addresses, then the right one: the same refusal (sign_in_throttled)', async () => {
    const post = await passwordForm();
    const victim = await legacyUser('form-sprayed@acme.test', false);
    const first = await post('form-sprayed@acme.test', 'guess number 0', '000000', '203.0.113.1');
    for (let i = 1; i < 40; i++) expect(await post('form-sprayed@acme.test', `guess number ${i}`, '000000', `203.0.113.${(i % 8) + 1}`)).toEqual(first);
    const right = await post('form-sprayed@acme.test', PASSWORD, await LegacyFactors.codeFor(victim.secret, Date.now()), '203.0.113.9');
    expect(right).toEqual(first);
    expect(right).toMatchObject({ status: 401, session: false });
    const codes = await auditCodes(victim.user.id);
    expect(codes.filter((c) => c === 'bad_credentials')).toHaveLength(10);
    expect(codes.slice(10)).toEqual(Array(31).fill('sign_in_throttled'));
  });
});
