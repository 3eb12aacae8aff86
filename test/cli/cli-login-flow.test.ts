/**
 * `gatehouse login` on the portal, as an attacker meets it: the authorize request (loopback redirect
 * URIs only, S256 only), the consent page (framing, CSRF), the code (single use, verifier, redirect,
 * a minute) and the credential's lifetime. Each attack in the threat model of
 * src/identity/cli-login/cli-login.ts is a test here or in cli-login-ssh.test.ts, asserting its code.
 */
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { hashSecret } from '../../src/lib/secret-hash.js';
import { cliLoginSshYaml, cliLoginSteps, pkce, type CliLoginSteps } from '../support/cli-login-steps.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal, signInThroughPortal } from '../support/portal-sign-in.js';

describe('gatehouse login: the authorize, consent and token endpoints', () => {
  let fx: GatehouseFixture;
  let s: CliLoginSteps;
  let browser: TestBrowser;
  let annKey: Awaited<ReturnType<typeof enrolThroughPortal>>;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    fx = await startFixture({ clock, extraYaml: cliLoginSshYaml(userInfo().username) });
    s = cliLoginSteps(fx);
    browser = new TestBrowser(fx.port);
    annKey = await enrolThroughPortal(fx, browser, 'ann@acme.localhost', ['ops']);
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('sends a crafted authorize link\'s code to the victim\'s own loopback, where it redeems only with the crafter\'s verifier', async () => {
    // The attacker chose the challenge and the port; the victim, signed in, approves.
    const attacker = pkce();
    const location = new URL(await s.consent(browser, s.authorizeUrl({ code_challenge: attacker.challenge, redirect_uri: 'http://127.0.0.1:40999/callback' })));
    expect(location.origin).toBe('http://127.0.0.1:40999');
    const code = location.searchParams.get('code');
    // Whoever does not hold the verifier (anyone but the process that started the flow) gets nothing.
    const guessed = await s.token({ grant_type: 'authorization_code', code, code_verifier: pkce().verifier, redirect_uri: 'http://127.0.0.1:40999/callback' });
    expect(guessed).toMatchObject({ status: 400, body: { code: 'cli_login_invalid_grant', error: 'invalid_grant' } });
    // The failed attempt burnt the code.
    const late = await s.token({ grant_type: 'authorization_code', code, code_verifier: attacker.verifier, redirect_uri: 'http://127.0.0.1:40999/callback' });
    expect(late.body.code).toBe('cli_login_invalid_grant');
  });

  it.each([
    ['localhost (RFC 8252 §8.3)', 'http://localhost:53682/callback'],
    ['another host', 'http://evil.example:53682/callback'],
    ['https', 'https://127.0.0.1:53682/callback'],
    ['a loopback spelt otherwise', 'http://127.1:53682/callback'],
    ['no port', 'http://127.0.0.1/callback'],
    ['a fragment', 'http://127.0.0.1:53682/callback#x'],
    ['credentials in the URL', 'http://me@127.0.0.1:53682/callback'],
    ['another scheme', 'javascript://127.0.0.1:53682/%0aalert(1)'],
  ])('refuses a redirect_uri with %s before any redirect (cli_login_bad_redirect)', async (_what, redirect) => {
    const reply = await browser.fetch(s.authorizeUrl({ redirect_uri: redirect }));
    expect(reply.status).toBe(400);
    expect(reply.location).toBeUndefined();
    expect(reply.body).not.toContain('name="code_challenge"');
    expect(await s.lastAudit('cli_login.authorize_refused')).toMatchObject({ outcome: 'failure', code: 'cli_login_bad_redirect' });
  });

  it('accepts the IPv6 loopback literal', async () => {
    const location = await s.consent(browser, s.authorizeUrl({ redirect_uri: 'http://[::1]:53682/callback' }));
    expect(new URL(location).origin).toBe('http://[::1]:53682');
  });

  it('refuses a plain PKCE challenge, a missing one and another client_id (cli_login_bad_request)', async () => {
    const cases: Record<string, string>[] = [{ code_challenge_method: 'plain' }, { code_challenge: '' }, { client_id: 'other' }];
    for (const params of cases) {
      const reply = await browser.fetch(s.authorizeUrl(params));
      expect(reply.status).toBe(400);
      expect(await s.lastAudit('cli_login.authorize_refused')).toMatchObject({ code: 'cli_login_bad_request' });
    }
  });

  it('refuses a replayed code, a wrong verifier, a missing verifier and another redirect_uri (cli_login_invalid_grant)', async () => {
    const redirect = 'http://127.0.0.1:53682/callback';
    const codeFor = async (challenge: string) => new URL(await s.consent(browser, s.authorizeUrl({ code_challenge: challenge, redirect_uri: redirect }))).searchParams.get('code');
    const first = pkce();
    const code = await codeFor(first.challenge);
    const issued = await s.token({ grant_type: 'authorization_code', code, code_verifier: first.verifier, redirect_uri: redirect });
    expect(issued.status).toBe(200);
    expect((await s.token({ grant_type: 'authorization_code', code, code_verifier: first.verifier, redirect_uri: redirect })).body.code).toBe('cli_login_invalid_grant');
    // RFC 6749 §4.1.2: the replay revokes the credential the code already gave.
    const revoked = await fx.gatehouse.core.store.db.selectFrom('cli_credentials').select('revoked_at').where('id_hash', '=', hashSecret(String(issued.body.credential))).executeTakeFirstOrThrow();
    expect(revoked.revoked_at).not.toBeNull();
    expect(await s.lastAudit('cli_login.credential_revoked')).toMatchObject({ code: 'cli_login_code_replayed', actor: 'system:code-replay' });
    const second = pkce();
    expect((await s.token({ grant_type: 'authorization_code', code: await codeFor(second.challenge), redirect_uri: redirect })).body.code).toBe('cli_login_invalid_grant');
    const third = pkce();
    expect((await s.token({ grant_type: 'authorization_code', code: await codeFor(third.challenge), code_verifier: third.verifier, redirect_uri: 'http://127.0.0.1:53683/callback' })).body.code).toBe('cli_login_invalid_grant');
    expect(await s.lastAudit('cli_login.token_refused')).toMatchObject({ outcome: 'failure', code: 'cli_login_invalid_grant' });
  });

  it('forbids framing the consent page and lets its form reach only the portal and that loopback origin', async () => {
    const page = await browser.fetch(s.authorizeUrl({ redirect_uri: 'http://127.0.0.1:53682/callback' }));
    expect(page.headers['x-frame-options']).toBe('DENY');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self' http://127.0.0.1:53682;");
    expect(page.body).toContain('Sign in the Gatehouse command line on this computer as <strong>ann@acme.localhost</strong>?');
  });

  it('refuses a consent POST from another origin or without the CSRF token (csrf_origin, csrf_token)', async () => {
    const fields = new URLSearchParams({ client_id: 'gatehouse-cli', response_type: 'code', code_challenge_method: 'S256', redirect_uri: 'http://127.0.0.1:53682/callback', code_challenge: pkce().challenge, state: 'state-0123456789' });
    const foreign = await browser.fetch(`${fx.portalOrigin}/cli/authorize`, { method: 'POST', headers: { origin: 'http://acme-okta.localhost', 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });
    expect(foreign.status).toBe(403);
    expect(foreign.location).toBeUndefined();
    const noToken = await browser.fetch(`${fx.portalOrigin}/cli/authorize`, { method: 'POST', headers: { origin: fx.portalOrigin, 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });
    expect(noToken.status).toBe(403);
    expect(noToken.location).toBeUndefined();
    const logs = fx.logs.join('');
    expect(logs).toContain('"code":"csrf_origin"');
    expect(logs).toContain('"code":"csrf_token"');
  });

  it('sends a signed-out browser to sign in and back to the authorize request', async () => {
    const url = s.authorizeUrl({});
    const reply = await new TestBrowser(fx.port).fetch(url);
    expect(reply.status).toBe(303);
    const target = new URL(reply.location!);
    expect(target.pathname).toBe('/sign-in');
    expect(target.searchParams.get('return_to')).toBe(`${new URL(url).pathname}${new URL(url).search}`);
  });

  // Last: these move the fixture's clock.
  it('refuses a code older than a minute (cli_login_invalid_grant)', async () => {
    const { verifier, challenge } = pkce();
    const redirect = 'http://127.0.0.1:53682/callback';
    const code = new URL(await s.consent(browser, s.authorizeUrl({ code_challenge: challenge, redirect_uri: redirect }))).searchParams.get('code');
    clock.advance(61_000);
    expect(await s.token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect })).toMatchObject({ status: 400, body: { code: 'cli_login_invalid_grant' } });
  });

  it('asks for a fresh key touch: an ssh app with auth_age refuses (ssh_step_up_required), and authorize sends the browser to step up', async () => {
    const credential = await s.credentialFor(browser);
    expect((await s.certificate(credential, 'fresh')).status).toBe(200);
    clock.advance(6 * 60_000);
    expect(await s.certificate(credential, 'fresh')).toMatchObject({ status: 403, body: { code: 'ssh_step_up_required', reason: 'step_up_required' } });
    const reply = await browser.fetch(s.authorizeUrl({}));
    expect(reply.status).toBe(303);
    const target = new URL(reply.location!);
    expect(target.pathname).toBe('/sign-in');
    expect(target.searchParams.get('step_up')).toBe('1');
  });

  it('does not keep the browser session alive: a credential used all day still ends with its idle browser session (cli_credential_revoked)', async () => {
    const laptop = new TestBrowser(fx.port);
    expect(await signInThroughPortal(fx, laptop, annKey)).toBe(200);
    const credential = await s.credentialFor(laptop);
    // Used every two hours; the browser is never opened again. Idle timeout: 8 hours.
    for (let hour = 2; hour <= 6; hour += 2) {
      clock.advance(2 * 3_600_000);
      expect((await s.certificate(credential, 'open')).status).toBe(200);
    }
    await fx.gatehouse.core.identity.sessions.flushTouches();
    clock.advance(2 * 3_600_000 + 1_000);
    expect(await s.certificate(credential, 'open')).toMatchObject({ status: 401, body: { code: 'cli_credential_revoked' } });
    expect((await laptop.fetch(`${fx.portalOrigin}/account`)).status).toBe(303);
  });

  it('refuses a credential past its own lifetime (cli_credential_expired), never later than its session', async () => {
    // The tests before moved the clock past the browser session's idle time: sign in again.
    expect(await signInThroughPortal(fx, browser, annKey)).toBe(200);
    const credential = await s.credentialFor(browser);
    const row = await fx.gatehouse.core.store.db.selectFrom('cli_credentials').selectAll().where('id_hash', '=', hashSecret(credential)).executeTakeFirstOrThrow();
    const session = await fx.gatehouse.core.store.db.selectFrom('sessions').select('expires_at').where('id_hash', '=', row.session_hash).executeTakeFirstOrThrow();
    expect(Number(row.expires_at)).toBeLessThanOrEqual(Number(session.expires_at));
    expect(Number(row.expires_at) - Number(row.created_at)).toBeLessThanOrEqual(12 * 3_600_000);
    clock.set(Number(row.expires_at));
    expect(await s.certificate(credential, 'open')).toMatchObject({ status: 401, body: { code: 'cli_credential_expired' } });
  });
});
