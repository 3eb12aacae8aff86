/**
 * The 2022 relay drill, part 1: a real-time relay on `acme-okta.localhost` in front of the real
 * portal. A user with only password + TOTP types both into the lookalike in Chromium and the attacker
 * walks into the account with the cookie the relay kept: a one-time code is just another thing to
 * type, and the relay types it in time. Then the same kit against a user who also has a key: offering
 * the password form is a downgrade, and the server refuses it before checking the password, with the
 * same answer a wrong password gets, so the relay cannot even learn that what it captured was right.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyFactors } from '../../src/identity/index.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { startPhishingRelay, type PhishingRelay } from '../support/relay.js';
import { csrfMetaOf, hostRequest } from './host-request.js';
import { auditMark, auditSince, CSRF_COOKIE, enrolInBrowser, SESSION_COOKIE } from './portal-steps.js';

const CAROL = 'carol@acme.test'; // password + TOTP only (not migrated yet)
const BOB = 'bob@acme.test'; // has a key, and still a password + TOTP from before
const PASSWORD = { carol: 'correct horse battery staple', bob: 'Tr0ub4dor&3-old-password' };

describe.runIf(haveChromium())('relay drill: password + TOTP through the phishing relay', { timeout: 30_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  let phish: PhishingRelay;
  let carol: { id: string; totp: string };
  let bob: { id: string; totp: string };
  const portalAuthority = () => `${fixture.portalHost}:${fixture.port}`;

  /** The victim, in Chromium on the lookalike, fills the legacy form and submits it. */
  async function typeIntoLookalike(tab: KeyedPage, email: string, password: string, code: string): Promise<number> {
    const { page } = tab;
    await page.goto(`${phish.origin}/sign-in`);
    expect(new URL(page.url()).origin).toBe(phish.origin);
    const form = page.locator('form[action="/sign-in/password"]');
    await form.locator('[name=email]').fill(email);
    await form.locator('[name=password]').fill(password);
    await form.locator('[name=code]').fill(code);
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${phish.origin}/sign-in/password`, { timeout: 30_000 });
    await form.locator('button[type=submit]').click();
    const status = (await posted).status();
    await page.waitForLoadState('load');
    return status;
  }

  beforeAll(async () => {
    fixture = await startFixture({ domain: 'acme.localhost', legacy: { password: true, totp: true } });
    const { identity } = fixture.gatehouse.core;
    const carolUser = await identity.users.add({ email: CAROL, name: 'Carol', groups: ['staff'] });
    await identity.legacy.setPassword(carolUser.id, PASSWORD.carol);
    carol = { id: carolUser.id, totp: await identity.legacy.enrollTotp(carolUser.id) };
    browser = await launchChromium();
    // Bob enrolled a key on the real portal; his old password and TOTP were never removed.
    const { tab } = await KeyedPage.open(browser);
    const { userId } = await enrolInBrowser(fixture, tab.page, BOB, 'Bob YubiKey');
    await tab.close();
    await identity.legacy.setPassword(userId, PASSWORD.bob);
    bob = { id: userId, totp: await identity.legacy.enrollTotp(userId) };
    phish = await startPhishingRelay({ lookalikeHost: 'acme-okta.localhost', portalHost: fixture.portalHost, portalPort: fixture.port });
  });

  afterAll(async () => {
    await phish?.close();
    await browser?.close();
    await fixture?.close();
  });

  it('phishes a password + TOTP user: the relay keeps a working session and the attacker reaches /account', async () => {
    const { tab } = await KeyedPage.open(browser);
    try {
      const mark = await auditMark(fixture);
      const code = await LegacyFactors.codeFor(carol.totp, Date.now());
      const status = await typeIntoLookalike(tab, CAROL, PASSWORD.carol, code);
      // The victim sees her real account page, on the lookalike: nothing looks wrong.
      expect(status).toBe(303);
      expect(tab.page.url()).toBe(`${phish.origin}/account`);
      await expect(tab.page.locator('main').textContent()).resolves.toContain(CAROL);

      // The kit's loot: everything she typed, and the session cookie the portal issued.
      expect(phish.capturedField('password')).toContain(PASSWORD.carol);
      expect(phish.capturedField('code')).toContain(code);
      const stolen = phish.stolenCookie(SESSION_COOKIE);
      expect(stolen).toMatch(/.{20,}/);

      // The attacker, from elsewhere, straight to the real portal with the stolen cookie: in.
      const account = await hostRequest({ authority: portalAuthority(), path: '/account', cookies: { [SESSION_COOKIE]: stolen } });
      expect(account.status).toBe(200);
      expect(account.body).toContain(CAROL);
      const session = await fixture.gatehouse.core.identity.sessions.validate(stolen);
      expect(session).toMatchObject({ userId: carol.id, amr: ['pwd', 'otp', 'mfa'], phishingResistantAt: undefined });
      // The server saw a correct password and a fresh code, nothing else: the audit says success.
      const signIns = await auditSince(fixture, 'sign_in', mark, carol.id);
      expect(signIns.map((e) => [e.outcome, e.detail.method])).toEqual([['success', 'password+totp']]);
    } finally {
      await tab.close();
    }
  });

  it('cannot downgrade a key user to password + TOTP through the relay (legacy_downgrade_refused)', async () => {
    const { tab } = await KeyedPage.open(browser);
    try {
      const mark = await auditMark(fixture);
      const code = await LegacyFactors.codeFor(bob.totp, Date.now());
      const status = await typeIntoLookalike(tab, BOB, PASSWORD.bob, code);
      expect(status).toBe(401);
      await expect(tab.page.locator('#error').textContent()).resolves.toBe('Sign-in failed. Try again.');
      // The relay got his password and code, and no session: the method was refused before either was
      // checked, with the answer a wrong password gets.
      expect(phish.capturedField('password')).toContain(PASSWORD.bob);
      const issued = phish.loot.cookies.filter((c) => c.seen === 'response' && c.name === SESSION_COOKIE && c.value !== '');
      expect(issued).toHaveLength(1); // carol's, from the first test: none for bob
      const refusals = await auditSince(fixture, 'sign_in', mark, bob.id);
      expect(refusals.map((e) => [e.outcome, e.code])).toEqual([['failure', 'legacy_downgrade_refused']]);

      // The attacker replays the captured password and code at the real portal: the same refusal
      // (neither factor is ever tried for a key holder), and no session exists for bob at all.
      const signInPage = await hostRequest({ authority: portalAuthority(), path: '/sign-in' });
      const replay = await hostRequest({
        authority: portalAuthority(),
        method: 'POST',
        path: '/sign-in/password',
        cookies: { [CSRF_COOKIE]: signInPage.setCookies[CSRF_COOKIE] },
        headers: { origin: fixture.portalOrigin },
        form: { _csrf: csrfMetaOf(signInPage.body), email: BOB, password: PASSWORD.bob, code },
      });
      expect(replay.status).toBe(401);
      expect(replay.setCookies[SESSION_COOKIE]).toBeUndefined();
      const after = await auditSince(fixture, 'sign_in', mark, bob.id);
      expect(after.map((e) => [e.outcome, e.code])).toEqual([
        ['failure', 'legacy_downgrade_refused'],
        ['failure', 'legacy_downgrade_refused'],
      ]);
      expect(await fixture.gatehouse.core.identity.sessions.listForUser(bob.id)).toHaveLength(1); // the enrolment session only
    } finally {
      await tab.close();
    }
  });
});
