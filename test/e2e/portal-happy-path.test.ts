/**
 * The portal as an employee uses it, in real Chromium with a CDP virtual security key: enrol from an
 * invite, sign out and in (discoverable and username-first), manage keys and sessions, sign out
 * everywhere. The tests run in order and share one Gatehouse; each step checks what the server did
 * (audit, cookies a node client replays), not only what the page says.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium, type VirtualCredential } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { hostRequest } from './host-request.js';
import { auditMark, auditSince, clickAndLand, clickAndReadError, SESSION_COOKIE } from './portal-steps.js';

const ALICE = 'alice@acme.test';

describe.runIf(haveChromium())('portal end to end in Chromium', { timeout: 30_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  let laptop: KeyedPage; // tab A: alice's laptop, first key plugged in
  let firstKey: string;
  let secondKey: string;
  let desktop: KeyedPage; // tab B: another computer of alice's
  let inviteUrl: string;
  let aliceId: string;
  let firstKeyCredential: VirtualCredential;
  const portal = () => fixture.portalOrigin;
  const authority = () => `${fixture.portalHost}:${fixture.port}`;
  /** What the portal answers a node client that presents `cookie` (an attacker with a copied cookie). */
  const accountWith = (cookie: string | undefined) => hostRequest({ authority: authority(), path: '/account', cookies: { [SESSION_COOKIE]: cookie } });

  beforeAll(async () => {
    fixture = await startFixture({ domain: 'acme.localhost' });
    browser = await launchChromium();
    ({ tab: laptop, authenticatorId: firstKey } = await KeyedPage.open(browser));
  });

  afterAll(async () => {
    await laptop?.close();
    await desktop?.close();
    await browser?.close();
    await fixture?.close();
  });

  it('enrols a key from the invite link and lands signed in on the account page', async () => {
    const invite = await fixture.gatehouse.core.identity.invite({ email: ALICE, name: 'Alice', groups: ['staff'], actor: 'test' });
    inviteUrl = invite.url;
    aliceId = invite.user.id;
    expect(new URL(inviteUrl).origin).toBe(portal());
    const { page } = laptop;
    await page.goto(inviteUrl);
    await page.locator('#key-name').fill('Alice YubiKey');
    await clickAndLand(page, '#enroll-key', /\/account\?enrolled=1$/);
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('Your security key is registered');
    await expect(page.locator('form[action="/account/keys/rename"] input[name=name]').inputValue()).resolves.toBe('Alice YubiKey');
    const enrolled = await auditSince(fixture, 'enrollment', 0, aliceId);
    expect(enrolled.map((e) => e.outcome)).toEqual(['success']);
    // The browser holds the session cookie and the server accepts it.
    const cookie = await laptop.cookie(portal(), SESSION_COOKIE);
    expect((await accountWith(cookie)).status).toBe(200);
    [firstKeyCredential] = (await laptop.credentials(firstKey)) as [VirtualCredential];
    expect(firstKeyCredential.rpId).toBe('acme.localhost');
  });

  it('refuses the invite link a second time ("cannot be used", 400, audit invite_used)', async () => {
    const mark = await auditMark(fixture);
    const response = await laptop.page.goto(inviteUrl);
    expect(response?.status()).toBe(400);
    await expect(laptop.page.locator('h1').textContent()).resolves.toBe('This link cannot be used');
    const failures = await auditSince(fixture, 'enrollment', mark);
    expect(failures.map((e) => [e.outcome, e.code])).toEqual([['failure', 'invite_used']]);
  });

  it('signs out, and the signed-out cookie no longer opens the account', async () => {
    const { page } = laptop;
    await page.goto(`${portal()}/account`);
    const before = await laptop.cookie(portal(), SESSION_COOKIE);
    await clickAndLand(page, 'nav form[action="/sign-out"] button', /\/sign-in\?signed_out=1$/);
    const refused = await accountWith(before);
    expect(refused.status).toBe(303);
    expect(refused.headers.location).toMatch(/^\/sign-in/);
  });

  it('signs in with the key alone (discoverable, no email typed)', async () => {
    const mark = await auditMark(fixture);
    await laptop.page.goto(`${portal()}/sign-in`);
    await clickAndLand(laptop.page, '#sign-in-key', /\/account$/);
    const signIns = await auditSince(fixture, 'sign_in', mark, aliceId);
    expect(signIns.map((e) => [e.outcome, e.detail.method])).toEqual([['success', 'webauthn']]);
    await clickAndLand(laptop.page, 'nav form[action="/sign-out"] button', /\/sign-in\?signed_out=1$/);
  });

  it('signs in username-first (email typed, the server lists her key ids)', async () => {
    const mark = await auditMark(fixture);
    await laptop.page.goto(`${portal()}/sign-in`);
    await laptop.page.locator('#email').fill(ALICE);
    await clickAndLand(laptop.page, '#sign-in-key', /\/account$/);
    const signIns = await auditSince(fixture, 'sign_in', mark, aliceId);
    expect(signIns.map((e) => [e.outcome, e.detail.credential])).toEqual([['success', Buffer.from(firstKeyCredential.credentialId, 'base64').toString('base64url')]]);
  });

  it('renames the key', async () => {
    const rename = laptop.page.locator('form[action="/account/keys/rename"]').first();
    await rename.locator('input[name=name]').fill('Alice YubiKey (old)');
    await clickAndLand(laptop.page, 'form[action="/account/keys/rename"] button', /\/account\?renamed=1$/);
    await expect(laptop.page.locator('form[action="/account/keys/rename"] input[name=name]').inputValue()).resolves.toBe('Alice YubiKey (old)');
    const [stored] = await fixture.gatehouse.core.identity.credentials.listForUser(aliceId);
    expect(stored?.name).toBe('Alice YubiKey (old)');
  });

  it('adds a second key (the first one stays untouched in its slot)', async () => {
    // Both keys are plugged in; only the new one is touched. The old one would refuse anyway: the
    // options list it in excludeCredentials (WebAuthn L3 §5.4.3).
    await laptop.setPresence(firstKey, false);
    secondKey = await laptop.addAuthenticator();
    await laptop.page.locator('#key-name').fill('Alice backup key');
    await clickAndLand(laptop.page, '#add-key', /\/account\?added=1$/);
    const names = await laptop.page.locator('form[action="/account/keys/rename"] input[name=name]').evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
    expect(names.sort()).toEqual(['Alice YubiKey (old)', 'Alice backup key']);
    expect(await laptop.credentials(secondKey)).toHaveLength(1);
    expect(await auditSince(fixture, 'key.added', 0, aliceId)).toHaveLength(1);
  });

  it('removes the first key, and that key no longer signs in anywhere', async () => {
    const [oldKey] = (await laptop.credentials(firstKey)) as [VirtualCredential];
    const row = laptop.page.locator('tr', { has: laptop.page.locator('input[name=name][value="Alice YubiKey (old)"]') });
    // This laptop's session was opened by that key: removing the key ends it, here and everywhere.
    await clickAndLand(laptop.page, 'tr:has(input[value="Alice YubiKey (old)"]) form[action="/account/keys/remove"] button', /\/sign-in$/);
    const [removal] = await fixture.gatehouse.core.audit.list({ type: 'key.removed' });
    expect(removal).toMatchObject({ outcome: 'success', detail: { credential: Buffer.from(oldKey.credentialId, 'base64').toString('base64url'), sessionsRevoked: 1 } });
    await clickAndLand(laptop.page, '#sign-in-key', /\/account$/); // with the backup key
    expect(await row.count()).toBe(0);
    const keys = await fixture.gatehouse.core.identity.credentials.listForUser(aliceId);
    expect(keys.map((k) => k.name)).toEqual(['Alice backup key']);
    // The last key cannot be removed from the page (the user would lock herself out).
    await expect(laptop.page.locator('form[action="/account/keys/remove"] button').isDisabled()).resolves.toBe(true);
    await laptop.removeAuthenticator(firstKey);

    // The removed key, plugged into another computer: the server no longer knows it.
    let oldKeySlot: string;
    ({ tab: desktop, authenticatorId: oldKeySlot } = await KeyedPage.open(browser));
    await desktop.importCredential(oldKeySlot, oldKey);
    const mark = await auditMark(fixture);
    await desktop.page.goto(`${portal()}/sign-in`);
    await expect(clickAndReadError(desktop.page, '#sign-in-key')).resolves.toBe('Sign-in failed. Try again.');
    const refused = await auditSince(fixture, 'sign_in', mark);
    expect(refused.map((e) => [e.outcome, e.code])).toEqual([['failure', 'webauthn_unknown_credential']]);
    expect(await desktop.cookie(portal(), SESSION_COOKIE)).toBeUndefined();
    await desktop.removeAuthenticator(oldKeySlot);
  });

  it('lists her sessions and ends the one on the other computer', async () => {
    // The backup key moves to the desktop (a USB key is carried between machines); the laptop does not
    // use it again, so the signature counter only moves forward.
    const [backup] = (await laptop.credentials(secondKey)) as [VirtualCredential];
    await desktop.importCredential(await desktop.addAuthenticator(), backup);
    await desktop.page.goto(`${portal()}/sign-in`);
    await clickAndLand(desktop.page, '#sign-in-key', /\/account$/);
    const desktopCookie = await desktop.cookie(portal(), SESSION_COOKIE);
    expect((await accountWith(desktopCookie)).status).toBe(200);

    await laptop.page.goto(`${portal()}/account`);
    const sessionRows = laptop.page.locator('form[action="/account/sessions/end"]');
    await expect(sessionRows.count()).resolves.toBe(2);
    const current = laptop.page.locator('tr:has(.badge.ok:text("This browser"))');
    await expect(current.count()).resolves.toBe(1);
    await expect(current.locator('.badge.grey').textContent()).resolves.toBe('Passkey');
    await clickAndLand(laptop.page, 'tr:not(:has(.badge.ok:text("This browser"))) form[action="/account/sessions/end"] button', /\/account\?ended=1$/);
    await expect(sessionRows.count()).resolves.toBe(1);

    const ended = await accountWith(desktopCookie);
    expect(ended.status).toBe(303);
    expect(ended.headers.location).toMatch(/^\/sign-in/);
    await desktop.page.goto(`${portal()}/account`);
    expect(new URL(desktop.page.url()).pathname).toBe('/sign-in');
  });

  it('signs out everywhere: every cookie captured earlier is refused afterwards', async () => {
    await desktop.page.goto(`${portal()}/sign-in`);
    await clickAndLand(desktop.page, '#sign-in-key', /\/account$/);
    const desktopCookie = await desktop.cookie(portal(), SESSION_COOKIE);
    const laptopCookie = await laptop.cookie(portal(), SESSION_COOKIE);
    expect(desktopCookie).not.toBe(laptopCookie);
    // Positive control: both copies work before, so the refusal below is the revocation's doing.
    expect((await accountWith(desktopCookie)).status).toBe(200);
    expect((await accountWith(laptopCookie)).status).toBe(200);

    await laptop.page.goto(`${portal()}/account`);
    await clickAndLand(laptop.page, 'form[action="/account/sign-out-everywhere"] button', /\/sign-in\?everywhere=1$/);
    for (const cookie of [laptopCookie, desktopCookie]) {
      const refused = await accountWith(cookie);
      expect(refused.status).toBe(303);
      expect(refused.headers.location).toBe('/sign-in?return_to=%2Faccount');
    }
    expect(await fixture.gatehouse.core.identity.sessions.listForUser(aliceId)).toEqual([]);
    const revoked = await auditSince(fixture, 'session.revoked', 0, aliceId);
    expect(revoked[0]?.detail).toMatchObject({ scope: 'user', sessions: 2 });
  });
});
