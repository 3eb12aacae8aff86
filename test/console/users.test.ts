/**
 * The console's users pages: the list (search, password-only and disabled views, pages), a user's
 * page (keys with their kind and where they were added, sessions, groups), and every action through
 * the identity capability: invite (the link shown once and never audited or logged), disable and
 * enable, groups (an admin group only with the email typed), key removal, session revocation; and the
 * lock-out guards that stop an admin from taking away the last way back into the console.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import type { SoftwareAuthenticator } from '../../src/identity/webauthn/test-support/software-authenticator.js';
import { TestBrowser, type Reply } from '../support/http-client.js';
import { enrolThroughPortal, signInThroughPortal } from '../support/portal-sign-in.js';
import { action, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

const pgAvailable = await havePostgres();
if (!pgAvailable) process.stderr.write(`\n[SKIPPED] console users pages on PostgreSQL: no server at ${POSTGRES_TEST_URL}\n`);

const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

/** A browser that says what it is, so the key it registers records a user agent. */
class FirefoxBrowser extends TestBrowser {
  override fetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
    return super.fetch(url, { ...init, headers: { 'user-agent': FIREFOX_ON_WINDOWS, ...init.headers } });
  }
}

async function consoleEvents(kit: ConsoleKit) {
  return kit.fx.gatehouse.core.audit.list({ type: 'admin.console_action', limit: 20 });
}

describe('admin console: users (SQLite)', () => {
  let kit: ConsoleKit;
  let keyholder: FirefoxBrowser;
  let keyholderKey: SoftwareAuthenticator;
  let second: GatehouseFixture | undefined;
  beforeAll(async () => {
    kit = await startConsoleKit();
    keyholder = new FirefoxBrowser(kit.fx.port);
    keyholderKey = await enrolThroughPortal(kit.fx, keyholder, 'keyholder@acme.test', ['engineering']);
  });
  afterAll(async () => {
    await second?.close();
    await kit?.close();
  });

  const idOf = async (email: string) => (await kit.fx.gatehouse.core.identity.users.require(email)).id;

  it('refuses staff the list and a user page with a refusal page, never data', async () => {
    for (const path of ['/admin/users', `/admin/users/${await idOf('keyholder@acme.test')}`, '/admin/users?filter=password-only']) {
      const reply = await page(kit, kit.staff, path);
      expect(reply.status).toBe(403);
      expect(reply.body).toContain('Not available');
      expect(reply.body).not.toContain('keyholder@acme.test');
    }
    const denied = await kit.fx.gatehouse.core.audit.list({ type: 'admin.denied', limit: 5 });
    expect(denied[0]?.code).toBe('admin_forbidden');
    const act = await action(kit, kit.staff, '/admin/users/disable', { user_id: await idOf('keyholder@acme.test') }, { csrf: 'A'.repeat(43) });
    expect(act.json.error).toBe('admin_forbidden');
  });

  it('lists users with their groups and how they sign in; the password-only and disabled views', async () => {
    const all = await page(kit, kit.admin, '/admin/users');
    expect(all.status).toBe(200);
    expect(all.headers['cache-control']).toBe('no-store');
    for (const email of ['admin@acme.test', 'staff@acme.test', 'keyholder@acme.test', 'pwadmin@acme.test']) expect(all.body).toContain(email);
    expect(all.body).toContain('engineering');
    expect(all.body).toContain('Password + code only');
    const passwordOnly = await page(kit, kit.admin, '/admin/users?filter=password-only');
    expect(passwordOnly.body).toContain('pwadmin@acme.test');
    expect(passwordOnly.body).not.toContain('keyholder@acme.test');
    expect(passwordOnly.body).not.toContain('>admin@acme.test</a>');
    const disabled = await page(kit, kit.admin, '/admin/users?filter=disabled');
    expect(disabled.body).toContain('No user here');
  });

  it('searches emails and names literally and without regard to case, and pages through many users', async () => {
    const core = kit.fx.gatehouse.core;
    await core.identity.addUser({ email: 'margaret.hamilton@acme.test', name: 'Margaret HAMILTON', actor: 'test' });
    const byName = await page(kit, kit.admin, '/admin/users?q=hamilton');
    expect(byName.body).toContain('margaret.hamilton@acme.test');
    expect(byName.body).not.toContain('keyholder@acme.test');
    const wildcard = await page(kit, kit.admin, '/admin/users?q=%25');
    expect(wildcard.body).toContain('No user matches');
    for (let i = 0; i < 105; i++) await core.identity.addUser({ email: `bulk${String(i).padStart(3, '0')}@acme.test`, actor: 'test' });
    const first = await page(kit, kit.admin, '/admin/users?q=bulk');
    expect(first.body).toContain('105 users matching');
    expect(first.body).toContain('bulk099@acme.test');
    expect(first.body).not.toContain('bulk100@acme.test');
    const next = /href="(\/admin\/users\?[^"]*after=[^"]*)"/.exec(first.body)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toBeDefined();
    const second = await page(kit, kit.admin, next!);
    expect(second.body).toContain('bulk104@acme.test');
    expect(second.body).not.toContain('>bulk099@acme.test</a>');
  });

  it('answers bad query parameters and ids with a clear 400 or 404, not a crash', async () => {
    const badFilter = await page(kit, kit.admin, '/admin/users?filter=admins');
    expect(badFilter.status).toBe(400);
    expect(badFilter.body).toContain('The filter must be one of');
    expect((await page(kit, kit.admin, `/admin/users?q=${'x'.repeat(300)}`)).status).toBe(400);
    expect((await page(kit, kit.admin, '/admin/users?q=a&q=b')).status).toBe(400);
    expect((await page(kit, kit.admin, '/admin/users/%3Cscript%3E')).status).toBe(400);
    const missing = await page(kit, kit.admin, '/admin/users/00000000-0000-0000-0000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('No such user');
  });

  it("shows a user's keys (kind, where and when added, last use), groups and live sessions", async () => {
    const reply = await page(kit, kit.admin, `/admin/users/${await idOf('keyholder@acme.test')}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('Test key');
    expect(reply.body).toContain('Passkey');
    expect(reply.body).toContain('from <code>127.0.0.1</code>, Firefox on Windows');
    expect(reply.body).toContain('engineering');
    expect(reply.body).toMatch(/<td>Passkey<\/td><td><code>127\.0\.0\.1<\/code><\/td><td>Firefox on Windows<\/td>/);
    // Never a public key, a session hash beyond its handle, or a password digest.
    expect(reply.body).not.toContain('argon2');
    const [stored] = await kit.fx.gatehouse.core.identity.credentials.listForUser(await idOf('keyholder@acme.test'));
    expect(reply.body).not.toContain(Buffer.from(stored!.publicKey).toString('base64url'));
  });

  it('names a security key with its attested model, and says when a key was added from an unknown place', async () => {
    const core = kit.fx.gatehouse.core;
    const user = await core.identity.addUser({ email: 'yubi@acme.test', actor: 'test' });
    // Seeded as an attested registration would leave it (the model comes only from an allowlisted attestation).
    await core.store.db
      .insertInto('credentials')
      .values({ id: 'seeded-hwk', user_id: user.id, name: 'Desk key', public_key: 'AA', counter: 0, aaguid: '0', transports: '["usb"]', authenticator_class: 'hwk', backed_up: 0, created_at: kit.clock.now(), last_used_at: null, model: 'YubiKey 5 NFC', attestation: 'packed', added_ip: null, added_user_agent: null })
      .execute();
    const reply = await page(kit, kit.admin, `/admin/users/${user.id}`);
    expect(reply.body).toContain('Security key (YubiKey 5 NFC)');
    expect(reply.body).toContain('address not recorded');
  });

  it('invites with a link shown once: in the answer, never in the audit log, the server log or the page', async () => {
    const done = await action(kit, kit.admin, '/admin/users/invite', { email: 'New.Hire@acme.test', name: 'New Hire', groups: 'engineering, sales' });
    expect(done.status).toBe(200);
    const secret = done.json.secret as { label: string; value: string };
    expect(secret.value).toMatch(/\/enroll\?token=/);
    const token = new URL(secret.value).searchParams.get('token')!;
    const user = await kit.fx.gatehouse.core.identity.users.require('new.hire@acme.test');
    expect(user.groups).toEqual(['engineering', 'sales']);
    const [event] = await consoleEvents(kit);
    expect(JSON.parse(JSON.stringify(event!.detail))).toMatchObject({ action: 'user.invite', target: user.id, groups: ['engineering', 'sales'], adminGroupsGranted: [] });
    const everything = await kit.fx.gatehouse.core.store.db.selectFrom('audit_events').select('detail').execute();
    expect(everything.some((row) => row.detail.includes(token))).toBe(false);
    expect(kit.fx.logs.join('').includes(token)).toBe(false);
    const profile = await page(kit, kit.admin, `/admin/users/${user.id}`);
    expect(profile.body).not.toContain(token);
    expect(profile.body).toContain('1 enrollment link not yet used');
    // Without script the outcome page carries it, once, escaped like everything else.
    const plain = await action(kit, kit.admin, '/admin/users/invite', { email: 'plain@acme.test' }, { json: false });
    expect(plain.status).toBe(200);
    expect(plain.reply.body).toMatch(/<code class="secret-value">http:\/\/[^<]*\/enroll\?token=[^<]+<\/code>/);
  });

  it('refuses to re-invite a user who has keys unless the box is ticked, as the CLI does', async () => {
    const refused = await action(kit, kit.admin, '/admin/users/invite', { email: 'keyholder@acme.test' });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toBe('invite_user_has_keys');
    expect(refused.json.message).toContain('Tick');
    const done = await action(kit, kit.admin, '/admin/users/invite', { email: 'keyholder@acme.test', user_has_keys: 'yes' });
    expect(done.status).toBe(200);
    expect(done.json.message).toContain('already has 1 key(s)');
    expect((done.json.secret as { value: string }).value).toContain('/enroll?token=');
    // For an administrator, the box is not enough: the email is typed too.
    const adminLink = await action(kit, kit.admin, '/admin/users/invite', { email: 'admin@acme.test', user_has_keys: 'yes' });
    expect(adminLink.status).toBe(400);
    expect(adminLink.json.error).toBe('confirmation_mismatch');
    const typed = await action(kit, kit.admin, '/admin/users/invite', { email: 'admin@acme.test', user_has_keys: 'yes', confirm_email: 'admin@acme.test' });
    expect(typed.status).toBe(200);
    const bad = await action(kit, kit.admin, '/admin/users/invite', { email: 'not an email' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('invalid_email');
  });

  it('grants an admin group only with the email typed, and the audit log names the grant', async () => {
    const invited = await action(kit, kit.admin, '/admin/users/invite', { email: 'second.admin@acme.test', groups: 'admins' });
    expect(invited.status).toBe(400);
    expect(invited.json.error).toBe('confirmation_mismatch');
    expect(await kit.fx.gatehouse.core.identity.users.findByEmail('second.admin@acme.test')).toBeUndefined();
    const target = await idOf('margaret.hamilton@acme.test');
    const wrong = await action(kit, kit.admin, '/admin/users/groups/add', { user_id: target, groups: 'admins', confirm_email: 'someone@acme.test' });
    expect(wrong.json.error).toBe('confirmation_mismatch');
    expect((await kit.fx.gatehouse.core.identity.users.require(target)).groups).toEqual([]);
    const plainGroup = await action(kit, kit.admin, '/admin/users/groups/add', { user_id: target, groups: 'finance' });
    expect(plainGroup.status).toBe(200);
    const granted = await action(kit, kit.admin, '/admin/users/groups/add', { user_id: target, groups: 'admins', confirm_email: 'Margaret.Hamilton@acme.test' });
    expect(granted.status).toBe(200);
    expect((await kit.fx.gatehouse.core.identity.users.require(target)).groups).toEqual(['admins', 'finance']);
    const adminId = await idOf('admin@acme.test');
    const [groupEvent] = await kit.fx.gatehouse.core.audit.list({ type: 'user.group_added', limit: 1 });
    expect(groupEvent).toMatchObject({ userId: target, actor: `admin:${adminId}` });
    expect(groupEvent!.detail).toEqual({ groups: ['admins'] });
    const [consoleEvent] = await consoleEvents(kit);
    expect(JSON.parse(JSON.stringify(consoleEvent!.detail))).toMatchObject({ action: 'user.groups_add', adminGroupsGranted: ['admins'] });
    const removed = await action(kit, kit.admin, '/admin/users/groups/remove', { user_id: target, group: 'admins' });
    expect(removed.status).toBe(200);
    expect((await kit.fx.gatehouse.core.identity.users.require(target)).groups).toEqual(['finance']);
    const [removedEvent] = await kit.fx.gatehouse.core.audit.list({ type: 'user.group_removed', limit: 1 });
    expect(removedEvent!.detail).toEqual({ groups: ['admins'] });
  });

  it('disables a user (sessions end on every instance, sign-in refused) and enables them again', async () => {
    const target = await idOf('keyholder@acme.test');
    expect((await keyholder.fetch(`${kit.fx.portalOrigin}/account`)).status).toBe(200);
    const done = await action(kit, kit.admin, '/admin/users/disable', { user_id: target });
    expect(done.status).toBe(200);
    expect(done.json.message).toContain('1 session(s) revoked');
    expect((await keyholder.fetch(`${kit.fx.portalOrigin}/account`)).status).toBe(303);
    expect((await kit.fx.gatehouse.core.identity.sessions.listForUser(target)).length).toBe(0);
    const [disabled] = await kit.fx.gatehouse.core.audit.list({ type: 'user.disabled', limit: 1 });
    expect(disabled).toMatchObject({ userId: target, actor: `admin:${await idOf('admin@acme.test')}` });
    expect((await page(kit, kit.admin, '/admin/users?filter=disabled')).body).toContain('keyholder@acme.test');
    const enabled = await action(kit, kit.admin, '/admin/users/enable', { user_id: target });
    expect(enabled.status).toBe(200);
    expect((await kit.fx.gatehouse.core.identity.users.require(target)).status).toBe('active');
  });

  it('a disable from the console is refused on a second instance once the change feed reaches it', async () => {
    second = await startFixture({ dir: kit.fx.dir, legacy: { password: true, totp: true }, clock: kit.clock });
    expect(await signInThroughPortal(kit.fx, keyholder, keyholderKey)).toBe(200);
    const onB = new TestBrowser(second.port);
    for (const [name, value] of keyholder.cookies(kit.fx.portalHost)) onB.cookies(second.portalHost).set(name, value);
    const accountOnB = async () => (await onB.fetch(`${second!.portalOrigin}/account`)).status;
    // Served (and cached) by B before the change.
    expect(await accountOnB()).toBe(200);
    const done = await action(kit, kit.admin, '/admin/users/disable', { user_id: await idOf('keyholder@acme.test') });
    expect(done.status).toBe(200);
    let status = await accountOnB();
    for (let i = 0; i < 100 && status === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await accountOnB();
    }
    expect(status).toBe(303);
    expect((await action(kit, kit.admin, '/admin/users/enable', { user_id: await idOf('keyholder@acme.test') })).status).toBe(200);
  });

  it("revokes one of a user's sessions, then all of them", async () => {
    const target = await idOf('staff@acme.test');
    await enrolThroughPortal(kit.fx, new TestBrowser(kit.fx.port), 'temp-holder@acme.test');
    const [first] = await kit.fx.gatehouse.core.identity.sessions.listForUser(target);
    const one = await action(kit, kit.admin, '/admin/users/sessions/revoke', { user_id: target, handle: first!.handle });
    expect(one.status).toBe(200);
    const again = await action(kit, kit.admin, '/admin/users/sessions/revoke', { user_id: target, handle: first!.handle });
    expect(again.status).toBe(404);
    expect(again.json.error).toBe('session_not_found');
    // A handle of someone else's session is not this user's: refused.
    const others = await kit.fx.gatehouse.core.identity.sessions.listForUser(await idOf('temp-holder@acme.test'));
    expect((await action(kit, kit.admin, '/admin/users/sessions/revoke', { user_id: target, handle: others[0]!.handle })).json.error).toBe('session_not_found');
    const all = await action(kit, kit.admin, '/admin/users/sessions/revoke-all', { user_id: await idOf('temp-holder@acme.test') });
    expect(all.status).toBe(200);
    expect(all.json.message).toContain('1 session of temp-holder@acme.test');
  });

  it("removes another user's key (its sessions end) with byAdmin, audited", async () => {
    const target = await idOf('temp-holder@acme.test');
    const [key] = await kit.fx.gatehouse.core.identity.credentials.listForUser(target);
    const done = await action(kit, kit.admin, '/admin/users/keys/remove', { user_id: target, credential_id: key!.id });
    expect(done.status).toBe(200);
    expect(done.json.message).toContain('no key left');
    expect(await kit.fx.gatehouse.core.identity.credentials.countForUser(target)).toBe(0);
    const [removed] = await kit.fx.gatehouse.core.audit.list({ type: 'key.removed', limit: 1 });
    expect(removed).toMatchObject({ outcome: 'success', userId: target, actor: `admin:${await idOf('admin@acme.test')}` });
    expect(removed!.detail).toMatchObject({ byAdmin: true, credential: key!.id });
    const unknown = await action(kit, kit.admin, '/admin/users/keys/remove', { user_id: target, credential_id: key!.id });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toBe('key_not_found');
  });

  it('refuses the lock-outs: disabling yourself, your own last key, the last admin out of the admin group', async () => {
    const self = await idOf('admin@acme.test');
    const disable = await action(kit, kit.admin, '/admin/users/disable', { user_id: self });
    expect(disable.status).toBe(409);
    expect(disable.json.error).toBe('console_self_disable');
    const [key] = await kit.fx.gatehouse.core.identity.credentials.listForUser(self);
    const lastKey = await action(kit, kit.admin, '/admin/users/keys/remove', { user_id: self, credential_id: key!.id });
    expect(lastKey.status).toBe(409);
    expect(lastKey.json.error).toBe('console_own_last_key');
    // pwadmin is in the admin group too, but with no key it cannot reach the console: it does not count.
    const leave = await action(kit, kit.admin, '/admin/users/groups/remove', { user_id: self, group: 'admins' });
    expect(leave.status).toBe(409);
    expect(leave.json.error).toBe('console_last_admin');
    const user = await kit.fx.gatehouse.core.identity.users.require(self);
    expect(user.status).toBe('active');
    expect(user.groups).toContain('admins');
    expect(await kit.fx.gatehouse.core.identity.credentials.countForUser(self)).toBe(1);
    const refusals = (await consoleEvents(kit)).filter((e) => e.outcome === 'failure').map((e) => e.code);
    expect(refusals).toEqual(expect.arrayContaining(['console_self_disable', 'console_own_last_key', 'console_last_admin']));
    // With a second administrator holding a key, leaving the admin group is allowed.
    const other = new TestBrowser(kit.fx.port);
    await enrolThroughPortal(kit.fx, other, 'deputy@acme.test', ['admins']);
    const deputyLeaves = await action(kit, kit.admin, '/admin/users/groups/remove', { user_id: await idOf('deputy@acme.test'), group: 'admins' });
    expect(deputyLeaves.status).toBe(200);
  });

  it('refuses an action without the CSRF token, and with a stale key proof until a step-up', async () => {
    const target = await idOf('margaret.hamilton@acme.test');
    const noToken = await action(kit, kit.admin, '/admin/users/disable', { user_id: target }, { csrf: null });
    expect(noToken.status).toBe(403);
    expect(noToken.json.error).toBe('csrf_token');
    kit.clock.advance(11 * 60_000);
    const stale = await action(kit, kit.admin, '/admin/users/disable', { user_id: target });
    expect(stale.status).toBe(403);
    expect(stale.json.code).toBe('admin_step_up_required');
    expect((await kit.fx.gatehouse.core.identity.users.require(target)).status).toBe('active');
    expect(await signInThroughPortal(kit.fx, kit.admin, kit.adminKey, { stepUp: true })).toBe(200);
    const done = await action(kit, kit.admin, '/admin/users/disable', { user_id: target });
    expect(done.status).toBe(200);
    expect((await kit.fx.gatehouse.core.identity.users.require(target)).status).toBe('disabled');
  });

  it('escapes hostile names and emails everywhere they are shown', async () => {
    const done = await action(kit, kit.admin, '/admin/users/invite', { email: 'hostile@acme.test', name: '<script>alert(1)</script>', groups: 'x-team' });
    expect(done.status).toBe(200);
    const id = await idOf('hostile@acme.test');
    for (const path of ['/admin/users?q=hostile', `/admin/users/${id}`]) {
      const reply = await page(kit, kit.admin, path);
      expect(reply.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(reply.body).not.toContain('<script>alert');
    }
    const weird = await page(kit, kit.admin, '/admin/users?q=%3Cscript%3Ealert(2)');
    expect(weird.body).toContain('&lt;script&gt;alert(2)');
    expect(weird.body).not.toContain('<script>alert');
  });
});

describe.skipIf(!pgAvailable)('admin console: users (PostgreSQL)', () => {
  let kit: ConsoleKit;
  beforeAll(async () => {
    kit = await startConsoleKit({ databaseUrl: await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_users') });
  });
  afterAll(async () => {
    await kit?.close();
  });

  it('runs the list, the views, a search by name and a user page, and the last-admin guard', async () => {
    const core = kit.fx.gatehouse.core;
    await core.identity.addUser({ email: 'ada@acme.test', name: 'Ada LOVELACE', actor: 'test' });
    expect((await page(kit, kit.admin, '/admin/users?q=lovelace')).body).toContain('ada@acme.test');
    expect((await page(kit, kit.admin, '/admin/users?q=a_a')).body).toContain('No user matches');
    const passwordOnly = await page(kit, kit.admin, '/admin/users?filter=password-only');
    expect(passwordOnly.body).toContain('pwadmin@acme.test');
    expect(passwordOnly.body).toContain('Password + code only');
    expect(passwordOnly.body).not.toContain('staff@acme.test');
    const self = (await core.identity.users.require('admin@acme.test')).id;
    const profile = await page(kit, kit.admin, `/admin/users/${self}`);
    expect(profile.body).toContain('Passkey');
    const leave = await action(kit, kit.admin, '/admin/users/groups/remove', { user_id: self, group: 'admins' });
    expect(leave.json.error).toBe('console_last_admin');
  });
});
