/**
 * In real Chromium: an app whose policy demands a hardware-attested key (`hwk`). A password +
 * TOTP session is refused, and so is a WebAuthn session from a key without an allowlisted attestation
 * root (the CDP virtual authenticator attests as `swk`). Both users reach an app with a looser policy
 * in the same run: the refusal comes from the hwk rule, not from a broken session.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyFactors } from '../../src/identity/index.js';
import { auditMark, enrolInBrowser } from '../e2e/portal-steps.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { openInBrowser, pageText, waitForAudit } from './access-steps.js';
import { startUpstreamApp, type UpstreamApp } from './upstream-app.js';

const LEGACY_PASSWORD = 'correct horse battery staple';
const KEY_USER = 'kim@acme.test';

interface LegacyUser {
  id: string;
  email: string;
  totp: string;
}

function appsYaml(upstream: UpstreamApp): string {
  return `apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: ${upstream.url}
    policies:
      - name: hardware-keys-only
        action: allow
        include: [{ group: [staff] }]
        require: [{ auth_method: [hwk] }]
  - name: wiki
    host: wiki.acme.localhost
    upstream: ${upstream.url}
    policies:
      - { name: staff, action: allow, include: [{ group: [staff] }] }
`;
}

describe.runIf(haveChromium())('an hwk-only app in Chromium', { timeout: 60_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  let upstream: UpstreamApp;
  const appUrl = (app: string, path: string) => `http://${app}.acme.localhost:${fixture.port}${path}`;

  beforeAll(async () => {
    upstream = await startUpstreamApp('payroll-or-wiki');
    fixture = await startFixture({ domain: 'acme.localhost', legacy: { password: true, totp: true }, extraYaml: appsYaml(upstream) });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await fixture?.close();
    await upstream?.close();
  });

  /** The denial the gateway audited for `userId` on payroll after `mark`. */
  async function payrollDenial(mark: number, userId: string) {
    // The deny page's favicon request is denied (and audited) too: pick the page's own request.
    const [event] = await waitForAudit(fixture, 'access.denied', mark, (e) => e.userId === userId && e.detail.path === '/salaries');
    expect(event).toMatchObject({ outcome: 'failure', code: 'no_policy_matched', userId });
    expect(event!.detail).toMatchObject({ app: 'payroll', policy: null, path: '/salaries' });
    return (event!.detail.reasons as string[]).join('\n');
  }

  /**
   * A user not migrated to keys yet: password + TOTP only. One per test, because a TOTP code is
   * single-use (RFC 6238 §5.2) and two tests in the same 30 s step would share one.
   */
  async function addLegacyUser(email: string): Promise<LegacyUser> {
    const { identity } = fixture.gatehouse.core;
    const user = await identity.users.add({ email, name: email.split('@')[0]!, groups: ['staff'] });
    await identity.legacy.setPassword(user.id, LEGACY_PASSWORD);
    return { id: user.id, email, totp: await identity.legacy.enrollTotp(user.id) };
  }

  /** Types the legacy form on the sign-in page `page` is on and waits for the portal's answer. */
  async function submitPasswordForm(page: Page, user: LegacyUser): Promise<number> {
    const form = page.locator('form[action="/sign-in/password"]');
    await form.locator('[name=email]').fill(user.email);
    await form.locator('[name=password]').fill(LEGACY_PASSWORD);
    await form.locator('[name=code]').fill(await LegacyFactors.codeFor(user.totp, Date.now()));
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/sign-in/password'), { timeout: 30_000 });
    await form.locator('button[type=submit]').click();
    return (await posted).status();
  }

  it('refuses a password + TOTP session with a 403 page that says a security key is needed', async () => {
    const { tab } = await KeyedPage.open(browser);
    try {
      const { page } = tab;
      const legacy = await addLegacyUser('lee@acme.test');
      // Signed in on the portal with the legacy form (earlier in the day), then opens payroll.
      await openInBrowser(page, `${fixture.portalOrigin}/sign-in`);
      expect(await submitPasswordForm(page, legacy)).toBe(303);
      await page.waitForURL(`${fixture.portalOrigin}/account`);
      const mark = await auditMark(fixture);
      const count = upstream.seen.length;
      const refused = await openInBrowser(page, appUrl('payroll', '/salaries'));
      expect(refused).toEqual({ status: 403, url: appUrl('payroll', '/salaries') });
      await expect(page.locator('h1').textContent()).resolves.toBe('You cannot open payroll');
      expect(await pageText(page)).toContain('This app needs a hardware security key (a USB or NFC key). A passkey is not enough here.');
      expect(upstream.seen.length).toBe(count); // nothing reached payroll

      expect(await payrollDenial(mark, legacy.id)).toContain('lacks hwk');
      const [session] = await fixture.gatehouse.core.identity.sessions.listForUser(legacy.id);
      expect(session?.amr).toEqual(['pwd', 'otp', 'mfa']);

      // The same session opens the wiki, whose policy asks for no particular method.
      const wiki = await openInBrowser(page, appUrl('wiki', '/home'));
      expect(wiki).toEqual({ status: 200, url: appUrl('wiki', '/home') });
    } finally {
      await tab.close();
    }
  });

  // Regression: the portal CSP has `form-action 'self'`, and Chromium applies form-action to every
  // redirect after a form submission, so a 303 chain from the password form to the app host was
  // blocked. The portal now answers with a continuation page (a fresh navigation) instead.
  it('sends a password + TOTP user who started at an app back to it after sign-in', async () => {
    const { tab } = await KeyedPage.open(browser);
    try {
      const { page } = tab;
      const legacy = await addLegacyUser('lou@acme.test');
      const signIn = await openInBrowser(page, appUrl('payroll', '/salaries'));
      expect(new URL(signIn.url).pathname).toBe('/sign-in');
      const back = page.waitForResponse((r) => r.url() === appUrl('payroll', '/salaries'), { timeout: 10_000 }).then((r) => r.status(), (error: Error) => error);
      expect(await submitPasswordForm(page, legacy)).toBe(200);
      expect(await back).toBe(403);
    } finally {
      await tab.close();
    }
  });

  it('refuses a security key that is not an attested hardware key (swk) the same way', async () => {
    const { tab } = await KeyedPage.open(browser);
    try {
      const { page } = tab;
      const { userId } = await enrolInBrowser(fixture, page, KEY_USER, 'Kim virtual key');
      const [credential] = await fixture.gatehouse.core.identity.credentials.listForUser(userId);
      expect(credential?.authenticatorClass).toBe('swk');
      const mark = await auditMark(fixture);
      const refused = await openInBrowser(page, appUrl('payroll', '/salaries'));
      expect(refused).toEqual({ status: 403, url: appUrl('payroll', '/salaries') });
      await expect(page.locator('h1').textContent()).resolves.toBe('You cannot open payroll');
      expect(await pageText(page)).toContain('This app needs a hardware security key (a USB or NFC key). A passkey is not enough here.');
      const reasons = await payrollDenial(mark, userId);
      expect(reasons).toContain('lacks hwk');
      expect(reasons).not.toContain('group');

      const wiki = await openInBrowser(page, appUrl('wiki', '/home'));
      expect(wiki).toEqual({ status: 200, url: appUrl('wiki', '/home') });
    } finally {
      await tab.close();
    }
  });
});
