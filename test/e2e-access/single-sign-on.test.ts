/**
 * In real Chromium: one key touch, two apps on two hosts. The user signs in on the portal
 * once (through the first app's handshake); the second app gets its own host-only cookie through
 * the handshake with no second touch. Each upstream receives an identity JWT it can verify on its
 * own with the portal's JWKS, addressed to it alone.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostRequest } from '../e2e/host-request.js';
import { auditMark, auditSince, clickAndLand, enrolInBrowser, SESSION_COOKIE } from '../e2e/portal-steps.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { APP_SESSION_COOKIE, ASSERTION_HEADER, openInBrowser, pageText, verifyAssertion } from './access-steps.js';
import { startUpstreamApp, type UpstreamApp } from './upstream-app.js';

const ANN = 'ann@acme.test';

function appsYaml(wiki: UpstreamApp, grafana: UpstreamApp): string {
  return `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: ${wiki.url}
    policies:
      - { name: staff, action: allow, include: [{ group: [staff] }] }
  - name: grafana
    host: grafana.acme.localhost
    upstream: ${grafana.url}
    policies:
      - name: staff-with-key
        action: allow
        include: [{ group: [staff] }]
        require: [{ auth_method: [phishing_resistant] }]
`;
}

describe.runIf(haveChromium())('one sign-in, two apps, in Chromium', { timeout: 60_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  let wiki: UpstreamApp;
  let grafana: UpstreamApp;
  let tab: KeyedPage;
  let key: string;
  let annId: string;
  const appUrl = (app: string, path: string) => `http://${app}.acme.localhost:${fixture.port}${path}`;

  beforeAll(async () => {
    [wiki, grafana] = await Promise.all([startUpstreamApp('wiki'), startUpstreamApp('grafana')]);
    fixture = await startFixture({ domain: 'acme.localhost', extraYaml: appsYaml(wiki, grafana) });
    browser = await launchChromium();
    ({ tab, authenticatorId: key } = await KeyedPage.open(browser));
    // Enrolment leaves her signed in; she signs out so the sign-in below is the one that counts.
    ({ userId: annId } = await enrolInBrowser(fixture, tab.page, ANN, 'Ann YubiKey'));
    await clickAndLand(tab.page, 'nav form[action="/sign-out"] button', /\/sign-in\?signed_out=1$/);
  });

  afterAll(async () => {
    await tab?.close();
    await browser?.close();
    await fixture?.close();
    await Promise.all([wiki?.close(), grafana?.close()]);
  });

  it('signs in once through the wiki handshake, then opens grafana with no second touch', async () => {
    const { page } = tab;
    const mark = await auditMark(fixture);
    const [before] = await tab.credentials(key);

    // Signed out: the wiki sends her to the portal, which asks for the key.
    const first = await openInBrowser(page, appUrl('wiki', '/Runbooks?space=ops'));
    expect(new URL(first.url).host).toBe(`${fixture.portalHost}:${fixture.port}`);
    expect(new URL(first.url).pathname).toBe('/sign-in');
    expect(await tab.cookie(appUrl('wiki', '/'), APP_SESSION_COOKIE)).toBeUndefined();
    const landed = page.waitForResponse((r) => r.url() === appUrl('wiki', '/Runbooks?space=ops'), { timeout: 30_000 });
    await clickAndLand(page, '#sign-in-key', /^http:\/\/wiki\.acme\.localhost:\d+\/Runbooks\?space=ops$/);
    expect((await landed).status()).toBe(200);
    await expect(page.locator('#app').textContent()).resolves.toBe('wiki');
    expect(wiki.requestFor('/Runbooks?space=ops')).toBeDefined();

    // Grafana: handshake straight through (the portal session is there), no key involved.
    const second = await openInBrowser(page, appUrl('grafana', '/d/latency'));
    expect(second).toEqual({ status: 200, url: appUrl('grafana', '/d/latency') });
    expect(await pageText(page)).toContain('grafana /d/latency');

    const [after] = await tab.credentials(key);
    expect(after!.signCount - before!.signCount).toBe(1);
    const signIns = await auditSince(fixture, 'sign_in', mark, annId);
    expect(signIns.map((e) => [e.outcome, e.detail.method])).toEqual([['success', 'webauthn']]);

    // Three different host-only cookies: the portal's, and one per app.
    const portalCookie = await tab.cookie(fixture.portalOrigin, SESSION_COOKIE);
    const wikiCookie = await tab.cookie(appUrl('wiki', '/'), APP_SESSION_COOKIE);
    const grafanaCookie = await tab.cookie(appUrl('grafana', '/'), APP_SESSION_COOKIE);
    expect(new Set([portalCookie, wikiCookie, grafanaCookie]).size).toBe(3);
    const cookies = await tab.context.cookies();
    for (const cookie of cookies.filter((c) => c.name === SESSION_COOKIE || c.name === APP_SESSION_COOKIE)) {
      expect(cookie.domain.startsWith('.')).toBe(false); // host-only: no other subdomain gets it
      expect(cookie.httpOnly).toBe(true);
    }
    // No upstream ever sees a Gatehouse cookie.
    for (const request of [...wiki.seen, ...grafana.seen]) expect(request.headers.cookie ?? '').not.toMatch(/gatehouse_/);
  });

  it('gives each upstream a JWT it verifies against the portal JWKS, addressed to it alone', async () => {
    const wikiToken = wiki.requestFor('/Runbooks?space=ops')?.headers[ASSERTION_HEADER];
    const grafanaToken = grafana.requestFor('/d/latency')?.headers[ASSERTION_HEADER];
    const wikiClaims = await verifyAssertion(fixture, wikiToken, 'wiki');
    const grafanaClaims = await verifyAssertion(fixture, grafanaToken, 'grafana');
    for (const claims of [wikiClaims, grafanaClaims]) {
      expect(claims).toMatchObject({ sub: annId, email: ANN, groups: ['staff'], amr: ['swk', 'mfa'] });
    }
    expect(wikiClaims.aud).toBe('wiki');
    expect(grafanaClaims.aud).toBe('grafana');
    // A token one upstream received is worthless at the other: replaying it fails the audience check.
    await expect(verifyAssertion(fixture, wikiToken, 'grafana')).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
    // And a tampered token fails the signature check.
    const [header, payload, signature] = String(wikiToken).split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), email: 'root@acme.test' })).toString('base64url');
    await expect(verifyAssertion(fixture, `${header}.${forged}.${signature}`, 'wiki')).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it('an app cookie is only good on its own app: grafana refuses the wiki cookie', async () => {
    const wikiCookie = await tab.cookie(appUrl('wiki', '/'), APP_SESSION_COOKIE);
    const count = grafana.seen.length;
    const refused = await hostRequest({ authority: `grafana.acme.localhost:${fixture.port}`, path: '/d/latency', cookies: { [APP_SESSION_COOKIE]: wikiCookie } });
    expect(refused.status).toBe(302);
    expect(refused.headers.location).toMatch(new RegExp(`^${fixture.portalOrigin}/handshake\\?app=grafana&`));
    expect(grafana.seen.length).toBe(count);
    const accepted = await hostRequest({ authority: `wiki.acme.localhost:${fixture.port}`, path: '/', cookies: { [APP_SESSION_COOKIE]: wikiCookie } });
    expect(accepted.status).toBe(200);
  });
});
