/**
 * The 2022 relay drill, part 2: the same kit against a user who signs in with a security key. Every
 * way a relay can try to use the key fails, each for the reason WebAuthn gives:
 *  - options passed through: the browser refuses the RP ID on the lookalike origin (SecurityError);
 *  - RP ID rewritten to the lookalike's own: the key holds no credential for that RP (NotAllowedError);
 *  - a relay on a subdomain of the RP ID: the browser signs, the server refuses the origin;
 *  - a tampered client that holds the private key and signs for the lookalike origin: refused too.
 * No variant issues a session, and the audit log names the phishing attempt where one reached it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium, type VirtualCredential } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { startPhishingRelay, type PhishingRelay } from '../support/relay.js';
import { forgeAssertion } from './forge-assertion.js';
import { csrfMetaOf, hostRequest } from './host-request.js';
import { auditMark, auditSince, clickAndReadError, CSRF_COOKIE, enrolInBrowser, SESSION_COOKIE } from './portal-steps.js';

const BOB = 'bob@acme.test';
const SECURITY_ERROR_TEXT = 'This page is not allowed to use your security key. Check the address bar.';
const NOT_ALLOWED_TEXT = 'No key answered. If you have not set up a security key or passkey for this site yet, use the set-up link your IT team sent you. If you have one, try again and touch it when it blinks.';
const SERVER_REFUSAL_TEXT = 'Sign-in failed. Try again.';

describe.runIf(haveChromium())('relay drill: a key user on the phishing relay', { timeout: 30_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  let victim: KeyedPage;
  let keySlot: string;
  let bobId: string;
  const relays: PhishingRelay[] = [];

  const relay = async (lookalikeHost: string, rewriteRpId?: string) => {
    const started = await startPhishingRelay({ lookalikeHost, portalHost: fixture.portalHost, portalPort: fixture.port, ...(rewriteRpId ? { rewriteRpId } : {}) });
    relays.push(started);
    return started;
  };

  /** Whatever the relay did, the server issued bob no session and the attacker holds no session cookie. */
  async function expectNoSession(phish: PhishingRelay, mark: number): Promise<void> {
    const successes = (await auditSince(fixture, 'sign_in', mark, bobId)).filter((e) => e.outcome === 'success');
    expect(successes).toEqual([]);
    expect(phish.stolenCookie(SESSION_COOKIE)).toBeUndefined();
    expect(await victim.cookie(phish.origin, SESSION_COOKIE)).toBeUndefined();
  }

  async function openLookalikeSignIn(page: Page, phish: PhishingRelay): Promise<void> {
    await page.goto(`${phish.origin}/sign-in`);
    // The victim sees the real portal's page, served through the relay.
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
    expect(new URL(page.url()).origin).toBe(phish.origin);
    await page.locator('#email').fill(BOB);
  }

  beforeAll(async () => {
    fixture = await startFixture({ domain: 'acme.localhost' });
    browser = await launchChromium();
    ({ tab: victim, authenticatorId: keySlot } = await KeyedPage.open(browser));
    ({ userId: bobId } = await enrolInBrowser(fixture, victim.page, BOB, 'Bob YubiKey'));
    await victim.context.clearCookies();
    await victim.recordCredentialErrors();
  });

  afterAll(async () => {
    for (const phish of relays) await phish.close();
    await victim?.close();
    await browser?.close();
    await fixture?.close();
  });

  it('options passed through unchanged: Chromium refuses RP ID acme.localhost on acme-okta.localhost (SecurityError)', async () => {
    const phish = await relay('acme-okta.localhost');
    const mark = await auditMark(fixture);
    await openLookalikeSignIn(victim.page, phish);
    // portal.js shows this text only for a DOMException named SecurityError.
    await expect(clickAndReadError(victim.page, '#sign-in-key')).resolves.toBe(SECURITY_ERROR_TEXT);
    const [refusal, ...more] = await victim.credentialErrors();
    expect(more).toEqual([]);
    expect(refusal?.name).toBe('SecurityError');
    expect(refusal?.message).toContain('relying party ID is not a registrable domain suffix');
    // The relay fetched genuine options, but the browser never produced anything to send back.
    expect(phish.loot.exchanges.map((x) => `${x.method} ${x.path} ${x.status}`)).toContain('POST /api/sign-in/options 200');
    expect(phish.loot.exchanges.some((x) => x.path === '/api/sign-in/verify')).toBe(false);
    expect(await auditSince(fixture, 'sign_in', mark, bobId)).toEqual([]);
    await expectNoSession(phish, mark);
  });

  it('RP ID rewritten to the lookalike: the browser accepts it, but the key has no credential for that RP', async () => {
    const phish = await relay('acme-okta.localhost', 'acme-okta.localhost');
    const mark = await auditMark(fixture);
    await openLookalikeSignIn(victim.page, phish);
    const options = victim.page.waitForResponse((r) => r.url().endsWith('/api/sign-in/options'));
    await expect(clickAndReadError(victim.page, '#sign-in-key')).resolves.toBe(NOT_ALLOWED_TEXT);
    expect((await victim.credentialErrors()).map((e) => e.name)).toEqual(['NotAllowedError']);
    const served = (await (await options).json()) as { options: { rpId: string; allowCredentials: { id: string }[] } };
    expect(served.options.rpId).toBe('acme-okta.localhost');
    // The key's only credential is bound to acme.localhost, and it was listed: the key still will not use it.
    const [credential] = (await victim.credentials(keySlot)) as [VirtualCredential];
    expect(credential.rpId).toBe('acme.localhost');
    expect(served.options.allowCredentials.map((c) => c.id)).toContain(Buffer.from(credential.credentialId, 'base64').toString('base64url'));
    expect(phish.loot.exchanges.some((x) => x.path === '/api/sign-in/verify')).toBe(false);
    await expectNoSession(phish, mark);
  });

  it('relay on a subdomain of the RP ID: Chromium signs, the server refuses the origin (webauthn_origin_mismatch)', async () => {
    const phish = await relay('login.acme.localhost');
    const mark = await auditMark(fixture);
    await openLookalikeSignIn(victim.page, phish);
    await expect(clickAndReadError(victim.page, '#sign-in-key')).resolves.toBe(SERVER_REFUSAL_TEXT);
    expect(await victim.credentialErrors()).toEqual([]); // the browser raised nothing: it signed
    // The browser really signed (acme.localhost is a registrable suffix of login.acme.localhost) and
    // wrote the origin it was on into the signed client data; the relay forwarded it untouched.
    const [posted] = phish.capturedField('response') as { response: { clientDataJSON: string; signature: string } }[];
    expect(posted?.response.signature.length).toBeGreaterThan(60);
    const clientData = JSON.parse(Buffer.from(posted!.response.clientDataJSON, 'base64url').toString('utf8')) as { origin: string };
    expect(clientData.origin).toBe(phish.origin);
    expect(phish.loot.exchanges.filter((x) => x.path === '/api/sign-in/verify').map((x) => x.status)).toEqual([401]);
    const refusals = await auditSince(fixture, 'sign_in', mark, bobId);
    expect(refusals.map((e) => [e.outcome, e.code])).toEqual([['failure', 'webauthn_origin_mismatch']]);
    expect(String(refusals[0]?.detail.reason)).toContain(phish.origin);
    await expectNoSession(phish, mark);
  });

  it('a tampered client with the exported private key signs for the lookalike origin: refused (webauthn_origin_mismatch)', async () => {
    const phish = await relay('acme-okta.localhost');
    const [credential] = (await victim.credentials(keySlot)) as [VirtualCredential];
    const lookalike = `acme-okta.localhost:${phish.port}`;
    const page = await hostRequest({ authority: lookalike, path: '/sign-in' });
    const csrf = { cookie: page.setCookies[CSRF_COOKIE], token: csrfMetaOf(page.body) };
    const viaRelay = (path: string, json: unknown) =>
      hostRequest({ authority: lookalike, method: 'POST', path, json, cookies: { [CSRF_COOKIE]: csrf.cookie }, headers: { origin: phish.origin, 'x-csrf-token': csrf.token } });

    const mark = await auditMark(fixture);
    const start = await viaRelay('/api/sign-in/options', { email: BOB });
    expect(start.status).toBe(200);
    const { challengeId, options } = JSON.parse(start.body) as { challengeId: string; options: { challenge: string; rpId: string } };
    expect(options.rpId).toBe('acme.localhost');
    // Right RP ID hash, the server's own live challenge, a valid signature by bob's key: only the
    // origin in clientDataJSON is the lookalike's.
    const response = forgeAssertion({ credential, rpId: 'acme.localhost', origin: phish.origin, challenge: options.challenge, signCount: credential.signCount + 1 });
    const verify = await viaRelay('/api/sign-in/verify', { challengeId, response });
    expect(verify.status).toBe(401);
    expect(JSON.parse(verify.body)).toMatchObject({ message: SERVER_REFUSAL_TEXT });
    expect(verify.setCookies[SESSION_COOKIE]).toBeUndefined();
    const refusals = await auditSince(fixture, 'sign_in', mark, bobId);
    expect(refusals.map((e) => [e.outcome, e.code])).toEqual([['failure', 'webauthn_origin_mismatch']]);
    await expectNoSession(phish, mark);

    // Control: the same forger with the real origin, straight to the portal, is accepted, so the
    // refusal above was the origin check and nothing else (signature, counter, challenge all valid).
    const portal = `${fixture.portalHost}:${fixture.port}`;
    const realPage = await hostRequest({ authority: portal, path: '/sign-in' });
    const realCsrf = { [CSRF_COOKIE]: realPage.setCookies[CSRF_COOKIE] };
    const direct = (path: string, json: unknown) =>
      hostRequest({ authority: portal, method: 'POST', path, json, cookies: realCsrf, headers: { origin: fixture.portalOrigin, 'x-csrf-token': csrfMetaOf(realPage.body) } });
    const again = JSON.parse((await direct('/api/sign-in/options', { email: BOB })).body) as { challengeId: string; options: { challenge: string } };
    const genuine = forgeAssertion({ credential, rpId: 'acme.localhost', origin: fixture.portalOrigin, challenge: again.options.challenge, signCount: credential.signCount + 2 });
    const accepted = await direct('/api/sign-in/verify', { challengeId: again.challengeId, response: genuine });
    expect(accepted.status).toBe(200);
    expect(accepted.setCookies[SESSION_COOKIE]).toMatch(/.{20,}/);
  });
});
