/**
 * The incident page's live timeline in real Chromium: console.js opens the page's event stream under
 * the portal CSP and appends each entry as text, the existing ones first and then one written while
 * the page stays open (no reload). Hostile text in an entry stays text.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from '../peers.js';
import { launchChromium } from '../support/browser.js';
import { startConsoleKit, type ConsoleKit } from './console-test-kit.js';

describe.runIf(haveChromium())('admin console: live incident timeline in a browser', () => {
  let kit: ConsoleKit;
  let browser: Browser;
  beforeAll(async () => {
    kit = await startConsoleKit({ extraYaml: 'dns:\n  age:\n    enabled: false\n' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await kit?.close();
  });

  it('shows the entries written and appends a new one without a reload', async () => {
    const declared = await kit.fx.gatehouse.incidents.declare({ title: 'Browser timeline', domains: ['live.example.test'] }, { actor: 'test' });
    if (!('incident' in declared)) throw new Error('not declared');
    const id = declared.incident.id;
    const context = await browser.newContext();
    // The admin's session from the test client: the page is read with it, no ceremony needed here.
    await context.addCookies(
      [...kit.admin.cookies(kit.fx.portalHost)].map(([name, value]) => ({ name, value, domain: kit.fx.portalHost, path: '/', httpOnly: true, sameSite: 'Lax' as const })),
    );
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${kit.fx.portalOrigin}/admin/incidents/${id}`);
    const list = page.locator('ol.incident-timeline');
    await expect.poll(async () => (await list.locator('li').allTextContents()).join('\n')).toContain('block_domains done');
    const marker = await page.evaluate('window.__marker = 1');
    expect(marker).toBe(1);
    await kit.fx.gatehouse.incidents.close(id, { actor: 'test', note: '<img src=x onerror=alert(1)> all clear' });
    await expect.poll(async () => (await list.locator('li').allTextContents()).join('\n')).toContain('closed by test: <img src=x onerror=alert(1)> all clear');
    // Same document (no reload), and the note is text: no element was made from it.
    expect(await page.evaluate('window.__marker')).toBe(1);
    expect(await list.locator('img').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
