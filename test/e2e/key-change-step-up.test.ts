/**
 * Key changes need a key proof from the last few minutes, in Chromium: after the window, "Add a key"
 * asks for a touch of the existing key first (inline, on the same page) and then adds the new one;
 * rename and remove forms send the person to touch a key and back. A stolen cookie alone, used after
 * the owner last touched their key, can do none of it.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { auditSince, clickAndLand, enrolInBrowser } from './portal-steps.js';

describe.runIf(haveChromium())('key changes after the proof window, in Chromium', { timeout: 60_000 }, () => {
  const clock = new ManualClock(Date.now());
  let fixture: GatehouseFixture;
  let browser: Browser;
  let laptop: KeyedPage;
  let firstKey: string;
  let userId: string;

  beforeAll(async () => {
    fixture = await startFixture({ domain: 'acme.localhost', clock });
    browser = await launchChromium();
    ({ tab: laptop, authenticatorId: firstKey } = await KeyedPage.open(browser));
    ({ userId } = await enrolInBrowser(fixture, laptop.page, 'nina@acme.test', 'Nina key'));
  });

  afterAll(async () => {
    await laptop?.close();
    await browser?.close();
    await fixture?.close();
  });

  it('"Add a key" with a stale proof: a touch of the existing key, then the new key is added', async () => {
    clock.advance(6 * 60_000);
    const { page } = laptop;
    await page.goto(`${fixture.portalOrigin}/account`);
    let newKey = '';
    const optionStatuses: number[] = [];
    page.on('response', (response) => {
      if (response.url().endsWith('/api/account/keys/options')) optionStatuses.push(response.status());
    });
    // The step-up touches the old key; the new key is plugged in only when the page asks to register
    // (the old one must then stay still: it is in excludeCredentials, WebAuthn L3 §5.4.3).
    let calls = 0;
    await page.route('**/api/account/keys/options', async (route) => {
      calls++;
      if (calls === 2) {
        await laptop.setPresence(firstKey, false);
        newKey = await laptop.addAuthenticator();
      }
      await route.continue();
    });
    await page.locator('#key-name').fill('Nina backup');
    await clickAndLand(page, '#add-key', /\/account\?added=1$/);
    expect(optionStatuses).toEqual([403, 200]);
    expect(await fixture.gatehouse.core.identity.credentials.countForUser(userId)).toBe(2);
    expect(await laptop.credentials(newKey)).toHaveLength(1);
    const added = await auditSince(fixture, 'key.added', 0, userId);
    expect(added.map((e) => [e.outcome, e.code])).toEqual([
      ['success', ''],
      ['failure', 'step_up_required'],
    ]); // newest first
    expect((await auditSince(fixture, 'step_up', 0, userId)).map((e) => e.outcome)).toEqual(['success']);
    await page.unroute('**/api/account/keys/options');
    await laptop.setPresence(firstKey, true);
    await laptop.removeAuthenticator(newKey);
  });

  it('renaming with a stale proof sends the person to touch a key, then back to the account page', async () => {
    clock.advance(6 * 60_000);
    const { page } = laptop;
    await page.goto(`${fixture.portalOrigin}/account`);
    const form = page.locator('form.inline-rename', { has: page.locator('input[value="Nina key"]') });
    await form.locator('input[name=name]').fill('Nina office key');
    await clickAndLand(page, 'form.inline-rename:has(input[value="Nina key"]) button', /\/sign-in\?step_up=1&return_to=%2Faccount$/);
    expect((await fixture.gatehouse.core.identity.credentials.listForUser(userId)).map((k) => k.name).sort()).toEqual(['Nina backup', 'Nina key']);
    await clickAndLand(page, '#sign-in-key', /\/account$/);
    await page.locator('form.inline-rename:has(input[value="Nina key"]) input[name=name]').fill('Nina office key');
    await clickAndLand(page, 'form.inline-rename:has(input[value="Nina key"]) button', /\/account\?renamed=1$/);
    expect((await fixture.gatehouse.core.identity.credentials.listForUser(userId)).map((k) => k.name).sort()).toEqual(['Nina backup', 'Nina office key']);
  });
});
