/**
 * The admin API's gate: a portal session of an admin-group member whose session carries a
 * security-key proof, plus the portal's CSRF check on every POST. Each refusal asserts its code, and
 * the audit log records the reason the client never sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { ManualClock } from '../../src/lib/clock.js';
import { enrolThroughPortal, signInThroughPortal } from '../support/portal-sign-in.js';
import { relayFullSignIn, withLegacyFactors } from './relay-victims.js';

describe('admin API', () => {
  let fx: GatehouseFixture;
  let admin: TestBrowser;
  let staff: TestBrowser;
  let passwordAdmin: TestBrowser;
  let csrf: string;

  const api = (browser: TestBrowser, path: string, init: { method?: string; body?: unknown; csrf?: string | null; origin?: string } = {}) =>
    browser
      .fetch(`${fx.portalOrigin}/admin/api${path}`, {
        method: init.method ?? 'GET',
        headers: {
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(init.method === 'POST' ? { origin: init.origin ?? fx.portalOrigin } : {}),
          ...(init.csrf ? { 'x-csrf-token': init.csrf } : {}),
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      })
      .then((reply) => ({ status: reply.status, json: JSON.parse(reply.body) as Record<string, unknown> & { error?: string } }));

  beforeAll(async () => {
    fx = await startFixture({ legacy: { password: true, totp: true } });
    admin = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, admin, 'admin@acme.test', ['admins']);
    staff = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, staff, 'staff@acme.test');
    // An administrator who signed in with password+TOTP (what a relay obtains).
    const core = fx.gatehouse.core;
    await core.identity.invite({ email: 'pwadmin@acme.test', groups: ['admins'], actor: 'test' });
    const victim = await withLegacyFactors(core, 'pwadmin@acme.test', (await core.identity.users.require('pwadmin@acme.test')).id);
    passwordAdmin = new TestBrowser(fx.port);
    passwordAdmin.cookies(fx.portalHost).set('gatehouse_session', await relayFullSignIn(core, victim));
    csrf = String((await api(admin, '/session')).json.csrfToken);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('refuses a request without a session', async () => {
    const reply = await api(new TestBrowser(fx.port), '/incidents');
    expect(reply.status).toBe(401);
    expect(reply.json.error).toBe('admin_session_required');
  });

  it('refuses a signed-in user who is not in an admin group', async () => {
    const reply = await api(staff, '/incidents');
    expect(reply.status).toBe(403);
    expect(reply.json.error).toBe('admin_forbidden');
  });

  it('refuses an administrator whose session came from password+TOTP', async () => {
    const reply = await api(passwordAdmin, '/incidents');
    expect(reply.status).toBe(403);
    expect(reply.json.error).toBe('admin_phishing_resistant_required');
    const hunt = await api(passwordAdmin, '/hunts/new-admins', { method: 'POST', body: {}, csrf });
    expect(hunt.json.error).toBe('admin_phishing_resistant_required');
  });

  it('refuses a state-changing call without the CSRF token or from another origin', async () => {
    const noToken = await api(admin, '/incidents', { method: 'POST', body: { title: 'x' } });
    expect(noToken.status).toBe(403);
    expect(noToken.json.error).toBe('csrf_token');
    const wrongToken = await api(admin, '/incidents', { method: 'POST', body: { title: 'x' }, csrf: 'A'.repeat(43) });
    expect(wrongToken.json.error).toBe('csrf_token');
    const otherOrigin = await api(admin, '/incidents', { method: 'POST', body: { title: 'x' }, csrf, origin: 'http://acme-okta.localhost' });
    expect(otherOrigin.status).toBe(403);
    expect(otherOrigin.json.error).toBe('csrf_origin');
    expect((await fx.gatehouse.core.store.db.selectFrom('incidents').select('id').execute()).length).toBe(0);
  });

  it('records every refusal with its code in the audit log', async () => {
    const rows = await fx.gatehouse.core.audit.list({ type: 'admin.denied', limit: 100 });
    expect(new Set(rows.map((r) => r.code))).toEqual(new Set(['admin_session_required', 'admin_forbidden', 'admin_phishing_resistant_required', 'csrf_token', 'csrf_origin']));
    expect(JSON.stringify(rows)).not.toContain(csrf);
  });

  it('validates bodies and names: unknown keys, unknown hunts, malformed ids', async () => {
    const unknownKey = await api(admin, '/incidents', { method: 'POST', body: { title: 'x', domain: ['a.com'] }, csrf });
    expect(unknownKey.status).toBe(400);
    expect(unknownKey.json.error).toBe('invalid_input');
    const badDomain = await api(admin, '/incidents', { method: 'POST', body: { title: 'x', domains: ['not a domain'] }, csrf });
    expect(badDomain.json.error).toBe('dns_invalid_domain');
    const badIp = await api(admin, '/incidents', { method: 'POST', body: { title: 'x', ips: ['10.0.0.1/8'] }, csrf });
    expect(badIp.json.error).toBe('incident_invalid_indicator');
    expect((await api(admin, '/hunts/everything', { method: 'POST', body: {}, csrf })).json.error).toBe('hunt_unknown');
    expect((await api(admin, '/hunts/from-ip', { method: 'POST', body: { ips: [] }, csrf })).json.error).toBe('hunt_invalid_params');
    expect((await api(admin, '/incidents/1%27%20or%201=1')).json.error).toBe('invalid_input');
    const missing = await api(admin, '/incidents/inc-00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toBe('incident_not_found');
  });

  it('hunts new admins (group additions are audited) and plans a dry run that changes nothing', async () => {
    const hunt = await api(admin, '/hunts/new-admins', { method: 'POST', body: { since: '1h' }, csrf });
    expect(hunt.status).toBe(200);
    expect((hunt.json.users as { email: string }[]).map((u) => u.email)).toEqual(['admin@acme.test', 'pwadmin@acme.test']);
    const plan = await api(admin, '/incidents', { method: 'POST', body: { title: 'drill', domains: ['acme-okta.com'], ips: ['198.51.100.23'], dry_run: true }, csrf });
    expect(plan.status).toBe(200);
    expect(plan.json.dryRun).toBe(true);
    const db = fx.gatehouse.core.store.db;
    expect(await db.selectFrom('incidents').select('id').execute()).toHaveLength(0);
    expect(await db.selectFrom('domain_blocks').select('name').execute()).toHaveLength(0);
    expect(await db.selectFrom('ip_blocks').select('cidr').execute()).toHaveLength(0);
  });

  it('declares, lists, shows and closes an incident; closing twice is refused', async () => {
    const declared = await api(admin, '/incidents', { method: 'POST', body: { title: 'targeted drill', users: ['staff@acme.test'] }, csrf });
    expect(declared.status).toBe(201);
    const id = (declared.json.incident as { id: string }).id;
    expect((await api(admin, '/incidents')).json.incidents).toEqual([expect.objectContaining({ id, status: 'open' })]);
    // The contained staff member lost the session; the administrator did not.
    expect((await staff.fetch(`${fx.portalOrigin}/account`)).status).toBe(303);
    const closed = await api(admin, `/incidents/${id}/close`, { method: 'POST', body: { note: 'drill over' }, csrf });
    expect(closed.status).toBe(200);
    expect(closed.json.status).toBe('closed');
    // No indicators, nothing blocked: the close says so, and kept nothing.
    expect(closed.json.blocks).toEqual({ domains: [], ips: [], lifted: false, strictNewDomains: { onByThisIncident: false, switchedOff: false } });
    const again = await api(admin, `/incidents/${id}/close`, { method: 'POST', body: {}, csrf });
    expect(again.status).toBe(409);
    expect(again.json.error).toBe('incident_closed');
    const badFlag = await api(admin, `/incidents/${id}/close`, { method: 'POST', body: { lift_blocks: 'yes' }, csrf });
    expect(badFlag.status).toBe(400);
    const lifted = await api(admin, `/incidents/${id}/close`, { method: 'POST', body: { lift_blocks: true }, csrf });
    expect(lifted).toMatchObject({ status: 200, json: { status: 'closed', blocks: { lifted: true, domains: [], ips: [] } } });
  });

  it('declares with tokens: unknown names refused with a code; the token is revoked in this instance at once, with its campaign', async () => {
    const unknown = await api(admin, '/incidents', { method: 'POST', body: { title: 'token leak', tokens: ['nope'] }, csrf });
    expect(unknown).toMatchObject({ status: 400, json: { error: 'incident_unknown_token' } });
    const issued = await fx.gatehouse.serviceTokens.create({ name: 'api-leak', owner: 'build@acme.test', apps: ['deploy'], actor: 'admin@acme.test' });
    const declared = await api(admin, '/incidents', { method: 'POST', body: { title: 'token leak', tokens: ['api-leak'], campaign: true }, csrf });
    expect(declared.status).toBe(201);
    const incident = declared.json.incident as { id: string; campaign: { id: string; follow: string } };
    expect(incident.campaign.follow).toBe(`gatehouse campaign status ${incident.campaign.id}`);
    // The server passes its own service tokens to the playbook: its verifier refuses the token as the declaration returns.
    expect(fx.gatehouse.serviceTokens.verify({ clientId: issued.clientId, secret: issued.secret, app: 'deploy', now: fx.gatehouse.core.clock.now() })).toMatchObject({ ok: false, code: 'service_token_revoked' });
    const bad = await api(admin, '/incidents', { method: 'POST', body: { title: 'x', tokens: ['api-leak'], campaign_scope: 'team=x', campaign: true }, csrf });
    expect(bad).toMatchObject({ status: 400, json: { error: 'incident_invalid_campaign' } });
  });
});

describe('admin API writes need a fresh key proof', () => {
  let fx: GatehouseFixture;
  const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
  afterAll(async () => {
    await fx?.close();
  });

  it('a proof older than 10 minutes reads but does not act (admin_step_up_required); a step-up restores writes', async () => {
    fx = await startFixture({ clock });
    const admin = new TestBrowser(fx.port);
    const key = await enrolThroughPortal(fx, admin, 'admin@acme.test', ['admins']);
    const call = (path: string, init: { method?: string; body?: unknown; csrf?: string } = {}) =>
      admin
        .fetch(`${fx.portalOrigin}/admin/api${path}`, {
          method: init.method ?? 'GET',
          headers: { ...(init.body !== undefined ? { 'content-type': 'application/json', origin: fx.portalOrigin } : {}), ...(init.csrf ? { 'x-csrf-token': init.csrf } : {}) },
          ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        })
        .then((reply) => ({ status: reply.status, json: JSON.parse(reply.body) as Record<string, unknown> }));
    const csrf = String((await call('/session')).json.csrfToken);
    clock.advance(10 * 60_000 + 1);
    expect((await call('/incidents')).status).toBe(200); // reads keep the session's proof
    const write = await call('/incidents', { method: 'POST', body: { title: 'stale proof', dry_run: true }, csrf });
    expect(write).toMatchObject({ status: 403, json: { error: 'admin_step_up_required' } });
    const hunt = await call('/hunts/new-admins', { method: 'POST', body: {}, csrf });
    expect(hunt.json.error).toBe('admin_step_up_required');
    const [denied] = (await fx.gatehouse.core.audit.list({ type: 'admin.denied' })).filter((e) => e.code === 'admin_step_up_required');
    expect(String(denied?.detail.reason)).toMatch(/last key proof 60\d s ago, window 600 s/);
    expect(await signInThroughPortal(fx, admin, key, { stepUp: true })).toBe(200);
    expect((await call('/incidents', { method: 'POST', body: { title: 'fresh proof', dry_run: true }, csrf })).status).toBe(200);
  });
});
