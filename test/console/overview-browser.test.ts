/**
 * The overview in real Chromium under the portal's CSP: uPlot and overview.js draw one chart per
 * series that has counts, from the escaped data attribute, with no console error (a CSP violation is
 * one); the charts fit a 390 px phone and follow the window when it is resized; axe-core finds no
 * serious or critical violation at either width.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from '../peers.js';
import { launchChromium } from '../support/browser.js';
import { startConsoleKit, type ConsoleKit } from './console-test-kit.js';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** The admin-group and key-change watchers raise alerts at a moment of their own: an hour apart here, so counts are exact. */
const QUIET_WATCHERS = 'incident:\n  admin_watch_interval_ms: 3600000\n';

describe.runIf(haveChromium())('admin console overview in Chromium', () => {
  let kit: ConsoleKit;
  let browser: Browser;
  let axeSource: string;

  beforeAll(async () => {
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    kit = await startConsoleKit({ extraYaml: QUIET_WATCHERS });
    const { core } = kit.fx.gatehouse;
    // In the current bucket, after the rollups' mark (the timer is already running): counted live.
    const now = kit.clock.now();
    for (let i = 0; i < 6; i++) {
      await core.store.db
        .insertInto('dns_queries')
        .values({ at: now + i * 1_000, client: '192.0.2.9', user_id: null, protocol: 'udp', name: 'acme-okta.com', type: 'A', verdict: i % 2 ? 'block' : 'allow', reason: i % 2 ? 'classify:lookalike' : '', latency_ms: 1 })
        .execute();
    }
    kit.clock.advance(10_000);
    await core.audit.record({ type: 'access.denied', outcome: 'failure', code: '<img src=x onerror=alert(1)>', detail: { app: 'wiki' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await kit?.close();
  });

  async function open(width: number, range = '24h'): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width, height: 844 } });
    await context.addCookies([...kit.admin.cookies(kit.fx.portalHost)].map(([name, value]) => ({ name, value, domain: kit.fx.portalHost, path: '/' })));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    const reply = await page.goto(`${kit.fx.portalOrigin}/admin?range=${range}`);
    expect(reply?.status()).toBe(200);
    return { page, errors };
  }

  const layout = (page: Page) =>
    page.evaluate(`(() => ({
      charts: document.querySelectorAll('[data-chart]').length,
      names: [...document.querySelectorAll('[data-chart]')].map((el) => el.getAttribute('data-chart')),
      drawn: document.querySelectorAll('[data-chart] .uplot canvas').length,
      widest: Math.max(...[...document.querySelectorAll('[data-chart] .uplot')].map((el) => el.getBoundingClientRect().width)),
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    }))()`) as Promise<{ charts: number; names: string[]; drawn: number; widest: number; overflow: number }>;

  const axe = async (page: Page) => {
    // Evaluated over CDP, which the page's CSP does not govern.
    await page.evaluate(axeSource);
    return (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target)) })))`)) as AxeViolation[];
  };

  for (const [width, range] of [[390, '1h'], [390, '24h'], [390, '7d'], [390, '30d'], [1280, '24h']] as const) {
    it(`draws every chart with counts at ${width} px over ${range}, inside the page, accessible`, async () => {
      const { page, errors } = await open(width, range);
      await page.waitForSelector('[data-chart] .uplot canvas');
      const look = await layout(page);
      // Sign-ins (the password+TOTP administrator's), denials, DNS and lookalikes have counts; alerts none.
      expect(look.names).toEqual(['sign_in', 'denial', 'dns', 'lookalike']);
      expect(look.drawn).toBe(look.charts);
      expect(look.widest).toBeLessThanOrEqual(width);
      expect(look.overflow, 'the page scrolls sideways').toBeLessThanOrEqual(0);
      const violations = await axe(page);
      expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
      expect(errors).toEqual([]);
      if (process.env.PAGE_SHOTS_DIR) await page.screenshot({ path: `${process.env.PAGE_SHOTS_DIR}/overview-${range}-${width}.png`, fullPage: true });
      await page.context().close();
    });
  }

  it('redraws the charts to the new width when the window shrinks', async () => {
    const { page, errors } = await open(1280);
    await page.waitForSelector('[data-chart] .uplot canvas');
    expect((await layout(page)).widest).toBeGreaterThan(600);
    await page.setViewportSize({ width: 390, height: 844 });
    // Polled from here: waitForFunction would evaluate a string in the page, which its CSP refuses.
    await expect.poll(async () => (await layout(page)).widest, { timeout: 5_000 }).toBeLessThanOrEqual(390);
    expect((await layout(page)).overflow).toBeLessThanOrEqual(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
