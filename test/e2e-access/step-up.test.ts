/**
 * In real Chromium: `auth_age`. An app asks for a key proof at most 5 minutes old. The server
 * clock is injected and moved by hand (the browser does not care about server time): after 6
 * minutes the app sends the user to the portal's step-up page, one touch refreshes the proof of the
 * same session, and the user is back on the page she asked for with a fresh `auth_time` in the JWT.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { auditMark, auditSince, clickAndLand, enrolInBrowser, SESSION_COOKIE } from '../e2e/portal-steps.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { APP_SESSION_COOKIE, ASSERTION_HEADER, openInBrowser, pageText, verifyAssertion, waitForAudit } from './access-steps.js';
import { startUpstreamApp, type UpstreamApp } from './upstream-app.js';

const EVE = 'eve@acme.test';
const MINUTE = 60_000;

describe.runIf(haveChromium())('step-up after auth_age in Chromium', { timeout: 60_000 }, () => {
  const clock = new ManualClock(Date.now());
  let fixture: GatehouseFixture;
  let browser: Browser;
  let deploy: UpstreamApp;
  let tab: KeyedPage;
  let key: string;
  let eveId: string;
  const appUrl = (path: string) => `http://deploy.acme.localhost:${fixture.port}${path}`;

  beforeAll(async () => {
    deploy = await startUpstreamApp('deploy');
    fixture = await startFixture({
      domain: 'acme.localhost',
      clock,
      extraYaml: `apps:
  - name: deploy
    host: deploy.acme.localhost
    upstream: ${deploy.url}
    policies:
      - name: recent-key
        action: allow
        include: [{ group: [staff] }]
        require: [{ auth_method: [phishing_resistant] }, { auth_age: 5 }]
`,
    });
    browser = await launchChromium();
    ({ tab, authenticatorId: key } = await KeyedPage.open(browser));
    ({ userId: eveId } = await enrolInBrowser(fixture, tab.page, EVE, 'Eve key'));
  });

  afterAll(async () => {
    await tab?.close();
    await browser?.close();
    await fixture?.close();
    await deploy?.close();
  });

  it('opens the app while the key proof is fresh', async () => {
    const opened = await openInBrowser(tab.page, appUrl('/pipelines'));
    expect(opened).toEqual({ status: 200, url: appUrl('/pipelines') });
    expect(await pageText(tab.page)).toContain('deploy /pipelines');
  });

  it('after 6 minutes sends her to touch the key again, then back to the page (same session, step_up audited)', async () => {
    const { page } = tab;
    const portalCookie = await tab.cookie(fixture.portalOrigin, SESSION_COOKIE);
    const appCookie = await tab.cookie(appUrl('/'), APP_SESSION_COOKIE);
    const [before] = await tab.credentials(key);
    const firstProof = (await verifyAssertion(fixture, deploy.requestFor('/pipelines')?.headers[ASSERTION_HEADER], 'deploy', clock.now())).auth_time as number;
    clock.advance(6 * MINUTE);
    const mark = await auditMark(fixture);
    const count = deploy.seen.length;

    const stale = await openInBrowser(page, appUrl('/release?tag=v2'));
    const stepUpUrl = new URL(stale.url);
    expect(stepUpUrl.origin).toBe(fixture.portalOrigin);
    expect(stepUpUrl.pathname).toBe('/sign-in');
    expect(stepUpUrl.searchParams.get('step_up')).toBe('1');
    expect(stepUpUrl.searchParams.get('return_to')).toBe(appUrl('/release?tag=v2'));
    await expect(page.locator('h1').textContent()).resolves.toBe('Confirm it’s you');
    expect(deploy.seen.length).toBe(count); // the stale session reached nothing
    const [refusal] = await waitForAudit(fixture, 'access.denied', mark, (e) => e.userId === eveId);
    expect(refusal).toMatchObject({ outcome: 'failure', code: 'step_up' });

    const back = page.waitForResponse((r) => r.url() === appUrl('/release?tag=v2'), { timeout: 30_000 });
    await clickAndLand(page, '#sign-in-key', /^http:\/\/deploy\.acme\.localhost:\d+\/release\?tag=v2$/);
    expect((await back).status()).toBe(200);
    expect(await pageText(page)).toContain('deploy /release');

    const stepUps = await auditSince(fixture, 'step_up', mark, eveId);
    expect(stepUps.map((e) => e.outcome)).toEqual(['success']);
    expect(await auditSince(fixture, 'sign_in', mark, eveId)).toEqual([]); // a refresh, not a new sign-in
    const [after] = await tab.credentials(key);
    expect(after!.signCount - before!.signCount).toBe(1);
    // The same portal and app sessions continue: step-up refreshes the proof, it issues nothing new.
    expect(await tab.cookie(fixture.portalOrigin, SESSION_COOKIE)).toBe(portalCookie);
    expect(await tab.cookie(appUrl('/'), APP_SESSION_COOKIE)).toBe(appCookie);
    const claims = await verifyAssertion(fixture, deploy.requestFor('/release?tag=v2')?.headers[ASSERTION_HEADER], 'deploy', clock.now());
    expect(claims.auth_time).toBe(firstProof + 6 * 60);
  });

  it('a stale session cannot POST past the check: 401 "touch your key", nothing reaches the app', async () => {
    clock.advance(6 * MINUTE);
    const count = deploy.seen.length;
    const status = await tab.page.evaluate(`fetch('/release', { method: 'POST', body: 'ship it' }).then((r) => r.status)`);
    expect(status).toBe(401);
    expect(deploy.seen.length).toBe(count);
  });
});
