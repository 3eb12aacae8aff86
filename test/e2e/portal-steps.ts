/**
 * Steps a person takes on the portal, for the end-to-end tests: click, then either land on the
 * expected page or read the error the page shows (so a failing run says why, not just "timeout").
 */
import type { Page } from 'playwright-core';
import type { StoredAuditEvent } from '../../src/audit/index.js';
import type { GatehouseFixture } from '../support/gatehouse-fixture.js';

export const SESSION_COOKIE = 'gatehouse_session';
export const CSRF_COOKIE = 'gatehouse_csrf';

/** Clicks and waits until the URL matches `landing`, or fails with the text of `#error`. */
export async function clickAndLand(page: Page, selector: string, landing: RegExp): Promise<void> {
  const failed = page
    .locator('#error:not(.hidden)')
    .waitFor({ state: 'visible', timeout: 30_000 })
    .then(async () => `the page shows an error: ${await page.locator('#error').textContent()}`)
    .catch(() => undefined);
  const landed = page.waitForURL(landing, { timeout: 30_000 }).then(() => undefined);
  await page.locator(selector).click();
  const outcome = await Promise.race([landed, failed.then((message) => message ?? landed)]);
  if (outcome) throw new Error(`${selector}: expected to land on ${landing}, but ${outcome} (at ${page.url()})`);
}

/** Clicks a WebAuthn button that is expected to fail and returns the error the page shows. */
export async function clickAndReadError(page: Page, selector: string): Promise<string> {
  await page.locator(selector).click();
  const error = page.locator('#error:not(.hidden)');
  await error.waitFor({ state: 'visible', timeout: 30_000 });
  return (await error.textContent())?.trim() ?? '';
}

/** Audit events of one type written after `afterSeq` (newest first), for one user when given. */
export async function auditSince(fixture: GatehouseFixture, type: string, afterSeq: number, userId?: string): Promise<StoredAuditEvent[]> {
  const events = await fixture.gatehouse.core.audit.list({ type, limit: 1000, ...(userId ? { userId } : {}) });
  return events.filter((event) => event.seq > afterSeq);
}

/** The newest audit sequence number: a marker so a test only looks at what it caused. */
export async function auditMark(fixture: GatehouseFixture): Promise<number> {
  const [latest] = await fixture.gatehouse.core.audit.list({ limit: 1 });
  return latest?.seq ?? 0;
}

/** An admin invites `email`; the user opens the link in `page`, registers the key and is signed in. */
export async function enrolInBrowser(fixture: GatehouseFixture, page: Page, email: string, keyName: string): Promise<{ userId: string }> {
  const invite = await fixture.gatehouse.core.identity.invite({ email, groups: ['staff'], actor: 'test' });
  await page.goto(invite.url);
  await page.locator('#key-name').fill(keyName);
  await clickAndLand(page, '#enroll-key', /\/account\?enrolled=1$/);
  return { userId: invite.user.id };
}
