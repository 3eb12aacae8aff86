/**
 * The console's gate, proved on the sessions page: only an admin signed in with a key sees data; a
 * member of staff and a password+TOTP administrator (what a relay obtains) get a refusal page; every
 * action needs the CSRF token from the portal's origin and a key proof inside the admin window, fixed
 * in place by a step-up; every action is audited under the admin's identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInThroughPortal } from '../support/portal-sign-in.js';
import { action, csrfOf, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

describe('admin console gate (sessions page)', () => {
  let kit: ConsoleKit;
  beforeAll(async () => {
    kit = await startConsoleKit();
  });
  afterAll(async () => {
    await kit?.close();
  });

  it('sends a visitor without a session to sign in, and back to the page', async () => {
    const { TestBrowser } = await import('../support/http-client.js');
    const reply = await page(kit, new TestBrowser(kit.fx.port), '/admin/sessions');
    expect(reply.status).toBe(303);
    expect(reply.location).toBe(`${kit.fx.portalOrigin}/sign-in?return_to=%2Fadmin%2Fsessions`);
  });

  it('shows staff and a password+TOTP administrator a refusal page, never data', async () => {
    for (const [browser, code] of [
      [kit.staff, 'admin_forbidden'],
      [kit.passwordAdmin, 'admin_phishing_resistant_required'],
    ] as const) {
      const reply = await page(kit, browser, '/admin/sessions');
      expect(reply.status).toBe(403);
      expect(reply.body).toContain('Not available');
      expect(reply.body).not.toContain('admin@acme.test');
      expect(reply.headers['cache-control']).toBe('no-store');
      const denied = await kit.fx.gatehouse.core.audit.list({ type: 'admin.denied', limit: 50 });
      expect(denied.map((event) => event.code)).toContain(code);
    }
  });

  it('lists live sessions to an admin, under the portal CSP and no-store', async () => {
    const reply = await page(kit, kit.admin, '/admin/sessions');
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('staff@acme.test');
    expect(reply.body).toContain('Passkey');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(String(reply.headers['content-security-policy'])).toContain("script-src 'self'");
    const search = await page(kit, kit.admin, '/admin/sessions?q=staff%');
    expect(search.body).toContain('No live session matches');
  });

  it('refuses an action without the CSRF token or from another origin, and changes nothing', async () => {
    const handle = await staffHandle();
    const noToken = await action(kit, kit.admin, '/admin/sessions/revoke', { handle }, { csrf: null });
    expect(noToken.status).toBe(403);
    expect(noToken.json.error).toBe('csrf_token');
    const token = await csrfOf(kit, kit.admin);
    const otherOrigin = await action(kit, kit.admin, '/admin/sessions/revoke', { handle }, { csrf: token, origin: 'http://acme-okta.localhost' });
    expect(otherOrigin.status).toBe(403);
    expect(otherOrigin.json.error).toBe('csrf_origin');
    const staffAction = await action(kit, kit.staff, '/admin/sessions/revoke', { handle }, { csrf: 'A'.repeat(43) });
    expect(staffAction.json.error).toBe('admin_forbidden');
    expect(await staffHandle()).toBe(handle);
  });

  it('asks for a touch of the key when the proof is older than the admin window, then acts', async () => {
    const handle = await staffHandle();
    kit.clock.advance(11 * 60_000);
    const stale = await action(kit, kit.admin, '/admin/sessions/revoke', { handle });
    expect(stale.status).toBe(403);
    expect(stale.json.code).toBe('admin_step_up_required');
    // Without script, the form post goes to the step-up page and back to the console page.
    const plain = await action(kit, kit.admin, '/admin/sessions/revoke', { handle }, { json: false });
    expect(plain.status).toBe(303);
    expect(plain.reply.location).toBe(`${kit.fx.portalOrigin}/sign-in?step_up=1&return_to=%2Fadmin%2Fsessions`);
    expect(await signInThroughPortal(kit.fx, kit.admin, kit.adminKey, { stepUp: true })).toBe(200);
    const done = await action(kit, kit.admin, '/admin/sessions/revoke', { handle });
    expect(done.status).toBe(200);
    expect(done.json.ok).toBe(true);
    expect((await kit.staff.fetch(`${kit.fx.portalOrigin}/account`)).status).toBe(303);
    const events = await kit.fx.gatehouse.core.audit.list({ type: 'admin.console_action', limit: 10 });
    const admin = await kit.fx.gatehouse.core.identity.users.require('admin@acme.test');
    expect(events[0]).toMatchObject({ userId: admin.id, actor: `admin:${admin.id}` });
    expect(JSON.parse(JSON.stringify(events[0]!.detail))).toMatchObject({ action: 'session.revoke', handle });
  });

  it('refuses to revoke everyone without the typed confirmation', async () => {
    const wrong = await action(kit, kit.admin, '/admin/sessions/revoke-all', { confirm: 'yes' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toBe('confirmation_mismatch');
    expect((await page(kit, kit.admin, '/admin/sessions')).status).toBe(200);
  });

  async function staffHandle(): Promise<string> {
    const staff = await kit.fx.gatehouse.core.identity.users.require('staff@acme.test');
    const [row] = await kit.fx.gatehouse.core.identity.sessions.listForUser(staff.id);
    return row!.handle;
  }
});
