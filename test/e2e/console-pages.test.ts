/**
 * The admin console in real Chromium at 1280 and 390 px: every page wears the console's look (header,
 * section nav, heading, footer, both stylesheets applied under the portal CSP), scrolls only inside its
 * tables, logs no console error (a CSP violation is one) and passes axe-core with no serious or
 * critical violation; a member of staff gets the refusal page. Then the console's one real action
 * path: with the admin's key proof gone stale, "Revoke" asks the virtual authenticator for a touch in
 * place, retries, and a second instance on the same database refuses the revoked session (the delay
 * is printed, not asserted: shared, noisy machines). Screenshots go to a temp folder (PAGE_SHOTS_DIR
 * keeps them).
 */
import { readFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { auditMark, auditSince, enrolInBrowser } from './portal-steps.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium, watchConsoleErrors } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

const ADMIN = 'ada@acme.test';
const STAFF = 'sam@acme.test';
const WIDTHS = [1280, 390] as const;
const APPS = `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: staff, action: allow, include: [{ group: [staff] }], require: [{ auth_method: [hwk, swk] }] }
`;

/** Every console page: its path and a phrase it must show. Pages join this list as they are built. */
const CONSOLE_PAGES: readonly { name: string; path: string | ((fx: GatehouseFixture) => Promise<string>); text: string | RegExp }[] = [
  { name: 'overview', path: '/admin', text: 'Overview' },
  { name: 'sessions', path: '/admin/sessions', text: /live session/ },
  { name: 'users', path: '/admin/users', text: STAFF },
  { name: 'users-password-only', path: '/admin/users?filter=password-only', text: 'Users' },
  { name: 'user', path: async (fx) => `/admin/users/${(await fx.gatehouse.core.identity.users.require(STAFF)).id}`, text: STAFF },
  { name: 'tokens', path: '/admin/tokens', text: 'Service tokens' },
  { name: 'apps', path: '/admin/apps', text: 'Apps' },
  { name: 'policy-tester', path: `/admin/apps/test?app=wiki&user=${encodeURIComponent(STAFF)}&ip=10.1.2.3`, text: 'wiki' },
  { name: 'audit', path: '/admin/audit', text: 'Audit' },
  { name: 'reports', path: '/admin/reports', text: 'Reports' },
  { name: 'dns', path: '/admin/dns', text: 'DNS' },
  { name: 'incidents', path: '/admin/incidents', text: 'Incidents' },
  {
    name: 'incident',
    path: async (fx) => {
      const declared = await fx.gatehouse.incidents.declare({ title: 'SMS lure drill', domains: ['acme-okta.com'], ips: ['198.51.100.23'] }, { actor: 'test' });
      return `/admin/incidents/${'dryRun' in declared ? '' : declared.incident.id}`;
    },
    text: 'SMS lure drill',
  },
];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

async function pollUntil(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > limitMs) throw new Error(`not seen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

describe.runIf(haveChromium())('the admin console in Chromium', { timeout: 300_000 }, () => {
  const clock = new ManualClock(Date.now());
  let a: GatehouseFixture;
  let b: GatehouseFixture;
  let browser: Browser;
  let shots: string;
  let axeSource: string;
  let staffCookie: string;

  beforeAll(async () => {
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    shots = process.env.PAGE_SHOTS_DIR ?? (await mkdtemp(join(tmpdir(), 'gatehouse-console-')));
    a = await startFixture({ domain: 'acme.localhost', clock, extraYaml: APPS });
    // A second instance on the same SQLite file: it learns of revocations through the change feed.
    b = await startFixture({ domain: 'acme.localhost', dir: a.dir, extraYaml: APPS });
    const staff = new TestBrowser(a.port);
    await enrolThroughPortal(a, staff, STAFF);
    staffCookie = staff.cookies(a.portalHost).get('gatehouse_session')!;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await b?.close();
    await a?.close();
    if (shots && !process.env.PAGE_SHOTS_DIR) await rm(shots, { recursive: true, force: true });
  });


  async function check(page: Page, name: string, text: string | RegExp, look: 'console' | 'refusal'): Promise<void> {
    const errors = watchConsoleErrors(page);
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      const seen = (await page.evaluate(`(() => ({
        header: !!document.querySelector('header.top .org'),
        nav: !!document.querySelector('nav.console-nav a[aria-current="page"]'),
        heading: !!document.querySelector('main h1'),
        footer: !!document.querySelector('footer'),
        background: getComputedStyle(document.documentElement).backgroundColor,
        consoleCss: getComputedStyle(document.querySelector('nav.console-nav') || document.body).display,
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        // What sticks out, to name it when the page scrolls sideways.
        wide: [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !(el.parentElement && el.parentElement.closest('.table-scroll')))
          .slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).replace(/ /g, '.') : '') + ' ' + (el.textContent || '').trim().slice(0, 40)),
        text: document.body.innerText.replace(/\\s+/g, ' '),
      }))()`)) as { header: boolean; nav: boolean; heading: boolean; footer: boolean; background: string; consoleCss: string; overflow: number; wide: string[]; text: string };
      // The screenshot first: a failing check below leaves the picture of what failed.
      const path = join(shots, `console-${name}-${width}.png`);
      await page.screenshot({ path, fullPage: true });
      expect((await stat(path)).size, `${path} is too small to show a page`).toBeGreaterThan(8_000);
      expect({ name, width, header: seen.header, heading: seen.heading, footer: seen.footer }).toEqual({ name, width, header: true, heading: true, footer: true });
      expect(seen.background, `${name}: the portal stylesheet was not applied`).toBe('rgb(244, 246, 249)');
      if (look === 'console') {
        expect(seen.nav, `${name}: no current section in the console nav`).toBe(true);
        expect(seen.consoleCss, `${name}: console.css was not applied`).toBe('flex');
      }
      expect(seen.overflow, `${name} at ${width}: the page scrolls sideways (${seen.wide.join('; ')})`).toBeLessThanOrEqual(0);
      expect(seen.text).toMatch(text);
      await page.evaluate(axeSource);
      const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))`)) as AxeViolation[];
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), `${name} at ${width}`).toEqual([]);
    }
    expect(errors, name).toEqual([]);
  }

  it('every page has the look, no console error and no serious axe violation; staff are refused', async () => {
    const { tab } = await KeyedPage.open(browser);
    const { userId } = await enrolInBrowser(a, tab.page, ADMIN, 'Ada key');
    await a.gatehouse.core.identity.addUserToGroups(userId, ['admins'], 'test');
    for (const { name, path: pathOf, text } of CONSOLE_PAGES) {
      const path = typeof pathOf === 'string' ? pathOf : await pathOf(a);
      const response = await tab.page.goto(`${a.portalOrigin}${path}`);
      expect({ path, status: response?.status() }).toEqual({ path, status: 200 });
      await check(tab.page, name, text, 'console');
    }
    const { tab: staffTab } = await KeyedPage.open(browser);
    await staffTab.context.addCookies([{ name: 'gatehouse_session', value: staffCookie, domain: a.portalHost, path: '/' }]);
    const refused = await staffTab.page.goto(`${a.portalOrigin}/admin/sessions`);
    expect(refused?.status()).toBe(403);
    await check(staffTab.page, 'refused-staff', /Not available.*not allowed/i, 'refusal');
    expect(await staffTab.page.content()).not.toContain(ADMIN);
    await staffTab.context.close();
    await tab.context.close();
  });

  it('a revoke with a stale key proof asks for a touch in place, and the other instance refuses the session', async () => {
    const { tab } = await KeyedPage.open(browser);
    const { userId } = await enrolInBrowser(a, tab.page, 'grace@acme.test', 'Grace key');
    await a.gatehouse.core.identity.addUserToGroups(userId, ['admins'], 'test');
    const onB = new TestBrowser(b.port);
    onB.cookies(a.portalHost).set('gatehouse_session', staffCookie);
    const accountOnB = () => onB.fetch(`http://${a.portalHost}:${b.port}/account`);
    expect((await accountOnB()).status).toBe(200);

    await tab.page.goto(`${a.portalOrigin}/admin/sessions?q=${encodeURIComponent(STAFF)}`);
    clock.advance(11 * 60_000); // past identity.admin_write_window_minutes (10)
    const mark = await auditMark(a);
    await tab.page.locator('tr', { hasText: STAFF }).getByRole('button', { name: 'Revoke' }).click();
    const outcome = await Promise.race([
      tab.page.locator('#console-status', { hasText: 'revoked on every instance' }).waitFor({ timeout: 30_000 }).then(() => 'revoked'),
      tab.page.locator('#console-error:not(.hidden)').waitFor({ timeout: 30_000 }).then(async () => `error: ${await tab.page.locator('#console-error').textContent()}`),
    ]);
    expect(outcome).toBe('revoked');
    // The first attempt was refused for the stale proof; the touch in place made the second succeed.
    expect((await auditSince(a, 'admin.denied', mark)).map((e) => e.code)).toEqual(['admin_step_up_required']);
    expect((await auditSince(a, 'admin.console_action', mark)).map((e) => e.userId)).toEqual([userId]);
    const delay = await pollUntil(async () => (await accountOnB()).status === 303, 5_000);
    process.stdout.write(`[measured] console revoke refused on the other instance after ${delay.toFixed(1)} ms\n`);
    await tab.context.close();
  });
});
