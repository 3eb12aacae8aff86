/**
 * The 2022 relay drill, continued past the portal: what the session an attacker stole through the
 * password + TOTP relay opens. Carol (not migrated to keys) types her password and code into the
 * lookalike in Chromium; the relay keeps the portal cookie. The attacker, from a plain HTTP client,
 * follows the app handshake with it: an app whose policy requires `phishing_resistant` answers with
 * the deny page and audits `access.denied` for Carol; an app that still accepts `pwd` lets him in.
 * The credential was the same: the policy is what stops him. Killing her sessions then ends his
 * app session too.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyFactors } from '../../src/identity/index.js';
import { auditMark, SESSION_COOKIE } from '../e2e/portal-steps.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { startPhishingRelay, type PhishingRelay } from '../support/relay.js';
import { ASSERTION_HEADER, verifyAssertion, waitForAudit } from './access-steps.js';
import { startUpstreamApp, type UpstreamApp } from './upstream-app.js';

const CAROL = 'carol@acme.test';
const PASSWORD = 'correct horse battery staple';

function appsYaml(wiki: UpstreamApp, crm: UpstreamApp): string {
  return `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: ${wiki.url}
    policies:
      - name: staff-with-key
        action: allow
        include: [{ group: [staff] }]
        require: [{ auth_method: [phishing_resistant] }]
  - name: crm
    host: crm.acme.localhost
    upstream: ${crm.url}
    policies:
      - name: staff-legacy-ok
        action: allow
        include: [{ group: [staff] }]
        require: [{ auth_method: [phishing_resistant, pwd] }]
`;
}

describe.runIf(haveChromium())('relay drill: the stolen password + TOTP session against app policies', { timeout: 60_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  let phish: PhishingRelay;
  let wiki: UpstreamApp;
  let crm: UpstreamApp;
  let carolId: string;
  let attacker: TestBrowser;
  const appUrl = (app: string, path: string) => `http://${app}.acme.localhost:${fixture.port}${path}`;

  beforeAll(async () => {
    [wiki, crm] = await Promise.all([startUpstreamApp('wiki'), startUpstreamApp('crm')]);
    fixture = await startFixture({ domain: 'acme.localhost', legacy: { password: true, totp: true }, extraYaml: appsYaml(wiki, crm) });
    const { identity } = fixture.gatehouse.core;
    const carol = await identity.users.add({ email: CAROL, name: 'Carol', groups: ['staff'] });
    carolId = carol.id;
    await identity.legacy.setPassword(carol.id, PASSWORD);
    const totp = await identity.legacy.enrollTotp(carol.id);
    browser = await launchChromium();
    phish = await startPhishingRelay({ lookalikeHost: 'acme-okta.localhost', portalHost: fixture.portalHost, portalPort: fixture.port });

    // The SMS link: Carol, in Chromium on the lookalike, fills the real portal's legacy form.
    const { tab } = await KeyedPage.open(browser);
    try {
      const { page } = tab;
      await page.goto(`${phish.origin}/sign-in`);
      const form = page.locator('form[action="/sign-in/password"]');
      await form.locator('[name=email]').fill(CAROL);
      await form.locator('[name=password]').fill(PASSWORD);
      await form.locator('[name=code]').fill(await LegacyFactors.codeFor(totp, Date.now()));
      await form.locator('button[type=submit]').click();
      await page.waitForURL(`${phish.origin}/account`);
    } finally {
      await tab.close();
    }
    const stolen = phish.stolenCookie(SESSION_COOKIE);
    if (!stolen) throw new Error('the relay kept no session cookie: the drill cannot start');
    // The attacker, elsewhere, puts the stolen cookie in his own client for the real portal host.
    attacker = new TestBrowser(fixture.port);
    attacker.cookies(fixture.portalHost).set(SESSION_COOKIE, stolen);
  });

  afterAll(async () => {
    await phish?.close();
    await browser?.close();
    await fixture?.close();
    await Promise.all([wiki?.close(), crm?.close()]);
  });

  it('the stolen session is a real one: the portal accepts it (password + TOTP, no key proof)', async () => {
    const account = await attacker.fetch(`${fixture.portalOrigin}/account`);
    expect(account.status).toBe(200);
    expect(account.body).toContain(CAROL);
    const session = await fixture.gatehouse.core.identity.sessions.validate(attacker.cookies(fixture.portalHost).get(SESSION_COOKIE)!);
    expect(session).toMatchObject({ userId: carolId, amr: ['pwd', 'otp', 'mfa'], phishingResistantAt: undefined });
  });

  it('an app that requires phishing_resistant answers the handshake with the deny page, and audits it for Carol', async () => {
    const mark = await auditMark(fixture);
    const count = wiki.seen.length;
    const hops = await attacker.follow(appUrl('wiki', '/secrets/roadmap'));
    expect(hops.map((h) => h.status)).toEqual([302, 303, 302, 403]);
    expect(hops[0]!.location).toMatch(new RegExp(`^${fixture.portalOrigin}/handshake\\?app=wiki&`));
    expect(hops[2]!.location).toBe(appUrl('wiki', '/secrets/roadmap'));
    const deny = hops[3]!;
    expect(deny.body).toContain('You cannot open wiki');
    expect(deny.body).toContain('This app needs a sign-in with a security key or passkey.');
    // The page names the account it refused (a person must see which one), never the policy or its reasons.
    expect(deny.body).toContain(`signed in as <strong>${CAROL}</strong>`);
    expect(deny.body).not.toMatch(/lacks|phishing_resistant|policies\[/);
    expect(wiki.seen.length).toBe(count); // not one request reached the wiki

    const [denied] = await waitForAudit(fixture, 'access.denied', mark, (e) => e.userId === carolId);
    expect(denied).toMatchObject({ outcome: 'failure', code: 'no_policy_matched', userId: carolId, ip: '127.0.0.1' });
    expect(denied!.detail).toMatchObject({ app: 'wiki', policy: null, method: 'GET', path: '/secrets/roadmap' });
    expect((denied!.detail.reasons as string[]).join('\n')).toMatch(/auth_method: .*lacks.*phishing_resistant/);
  });

  it('an app that still accepts pwd lets the same stolen session in: the policy is what stops it', async () => {
    const hops = await attacker.follow(appUrl('crm', '/customers'));
    expect(hops.map((h) => h.status)).toEqual([302, 303, 302, 200]);
    expect(hops[3]!.body).toContain('<h1 id="app">crm</h1>');
    const claims = await verifyAssertion(fixture, crm.requestFor('/customers')?.headers[ASSERTION_HEADER], 'crm');
    expect(claims).toMatchObject({ sub: carolId, email: CAROL, amr: ['pwd', 'otp', 'mfa'] });
  });

  it('killing her sessions ends the attacker’s app session on the next request', async () => {
    const count = crm.seen.length;
    await fixture.gatehouse.core.identity.revokeUserSessions(carolId, { actor: 'incident', reason: 'relay drill' });
    const hops = await attacker.follow(appUrl('crm', '/customers'));
    // Back to the handshake, which sends him to sign in: he holds no valid session anywhere.
    expect(hops.map((h) => h.status)).toEqual([302, 303, 200]);
    expect(new URL(hops[1]!.location!).pathname).toBe('/sign-in');
    expect(crm.seen.length).toBe(count);
  });
});
