/**
 * "Report something suspicious" in Chromium: the block page's "Report this" button opens the portal's
 * prefilled form; the person pastes the lure (with markup in it) and submits; the thank-you page shows
 * the extracted link defanged and the markup as text (no stored XSS reaches a browser).
 * Anonymous reports are allowed here so the test needs no security key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { blockPage } from '../../src/dns/block-page.js';
import { haveChromium } from '../peers.js';
import { launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

describe.runIf(haveChromium())('report form in Chromium', { timeout: 60_000 }, () => {
  let fx: GatehouseFixture;
  let browser: Browser;

  beforeAll(async () => {
    fx = await startFixture({ extraYaml: 'dns:\n  protect: { brands: [acme], domains: [acme.localhost] }\n  age: { enabled: false }\nreports:\n  allow_anonymous: true\n' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  it('block page button → prefilled form → thank-you, with the lure shown as text', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    // The block page as the gateway serves it for a blocked name (its links point at the portal).
    await page.goto(`${fx.portalOrigin}/report`);
    await page.setContent(blockPage({ explanation: { name: 'acme-payroll.com', humanReason: 'looks like acme' } as never, organisation: 'Acme', portalOrigin: fx.portalOrigin }));
    await Promise.all([page.waitForURL(`${fx.portalOrigin}/report?domain=acme-payroll.com`), page.click('text=Report this')]);
    expect(await page.inputValue('#report-body')).toBe('acme-payroll.com\n');
    await page.fill('#report-body', 'Acme payroll SMS: hxxps://pay.acme-payroll[.]com/x <img src=x onerror=alert(1)>');
    await Promise.all([page.waitForURL(`${fx.portalOrigin}/report`), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Thank you for your report');
    expect(await page.textContent('.report-indicators')).toContain('https://pay[.]acme-payroll[.]com/x');
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    const stored = await fx.gatehouse.core.store.db.selectFrom('reports').select(['body', 'reporter']).execute();
    expect(stored).toEqual([{ body: expect.stringContaining('<img src=x onerror=alert(1)>'), reporter: null }]);
  });
});
