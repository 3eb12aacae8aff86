/**
 * The console's tokens page: service tokens (owner, apps, expiry, last use, suspended, revoked or
 * believed unused) with suspend, resume and a revocation typed by name, the credential inventory and
 * rotation campaigns with their progress. No secret and no digest of one ever reaches the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaigns, CredentialInventory } from '../../src/credentials/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';
import { signInThroughPortal } from '../support/portal-sign-in.js';
import { action, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

const pgAvailable = await havePostgres();
if (!pgAvailable) process.stderr.write(`\n[SKIPPED] console tokens page on PostgreSQL: no server at ${POSTGRES_TEST_URL}\n`);

const HOSTILE = '<script>alert(1)</script>';

/** Two tokens (one believed unused, with a hostile owner and description), an inventory item and a campaign. */
async function seed(kit: ConsoleKit): Promise<{ secrets: string[]; hashes: string[] }> {
  const { core, serviceTokens } = kit.fx.gatehouse;
  const build = await serviceTokens.create({ name: 'ci-deploy', owner: 'build@acme.test', apps: ['wiki'], tags: ['ci'], description: 'deploys the wiki', actor: 'test' });
  const legacy = await serviceTokens.create({ name: 'old-backup', owner: `${HOSTILE}@evil.test`, apps: ['files'], description: HOSTILE, actor: 'test' });
  await serviceTokens.markBelievedUnused('old-backup', { believedUnused: true, actor: 'test' });
  const inventory = new CredentialInventory(core.store, core.clock, core.random, core.audit);
  await inventory.add({ name: `vendor-${HOSTILE}`, kind: 'api_token', system: 'payroll', owner: 'finance@acme.test', scope: 'read', locator: {} }, 'test');
  const campaigns = createCampaigns({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, tokens: serviceTokens, rotators: new Map() });
  await campaigns.start({ reason: `vendor breach ${HOSTILE}`, scope: {}, emergency: false, actor: 'test' });
  const rows = await core.store.db.selectFrom('service_tokens').select(['secret_hash']).execute();
  return { secrets: [build.secret, legacy.secret], hashes: rows.map((r) => r.secret_hash) };
}

describe('admin console: service tokens, inventory and campaigns (SQLite)', () => {
  let kit: ConsoleKit;
  let seeded: { secrets: string[]; hashes: string[] };
  beforeAll(async () => {
    kit = await startConsoleKit();
    seeded = await seed(kit);
  });
  afterAll(async () => {
    await kit?.close();
  });

  it('shows tokens, the inventory and campaign progress to an admin, never a secret or its digest', async () => {
    const reply = await page(kit, kit.admin, '/admin/tokens');
    expect(reply.status).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.body).toContain('ci-deploy');
    expect(reply.body).toContain('build@acme.test');
    expect(reply.body).toContain('deploys the wiki');
    expect(reply.body).toContain('tags: ci');
    expect(reply.body).toContain('Believed unused');
    expect(reply.body).toContain('never');
    expect(reply.body).toContain('payroll');
    expect(reply.body).toMatch(/0 \/ 3 done/);
    expect(reply.body).toContain('3 pending');
    for (const secret of [...seeded.secrets, ...seeded.hashes]) expect(reply.body).not.toContain(secret);
    const search = await page(kit, kit.admin, '/admin/tokens?q=build');
    expect(search.body).toContain('ci-deploy');
    expect(search.body).not.toContain('old-backup');
    expect((await page(kit, kit.admin, '/admin/tokens?q=ci_')).body).toContain('No service token matches');
  });

  it('answers a bad query parameter with a clear 400', async () => {
    const reply = await page(kit, kit.admin, `/admin/tokens?q=${'x'.repeat(201)}`);
    expect(reply.status).toBe(400);
    expect(reply.body).toContain('at most 200 characters');
  });

  it('refuses staff a refusal page and the actions, without changing anything', async () => {
    const reply = await page(kit, kit.staff, '/admin/tokens');
    expect(reply.status).toBe(403);
    expect(reply.body).not.toContain('ci-deploy');
    const act = await action(kit, kit.staff, '/admin/tokens/revoke', { name: 'ci-deploy', confirm: 'ci-deploy' }, { csrf: 'A'.repeat(43) });
    expect(act.json.error).toBe('admin_forbidden');
    expect((await kit.fx.gatehouse.serviceTokens.show('ci-deploy')).status).toBe('active');
  });

  it('escapes hostile owners, descriptions, inventory names and campaign reasons', async () => {
    const reply = await page(kit, kit.admin, '/admin/tokens');
    expect(reply.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;@evil.test');
    expect(reply.body).toContain('vendor-&lt;script&gt;');
    expect(reply.body).toContain('vendor breach &lt;script&gt;');
    expect(reply.body).not.toContain('<script>alert');
  });

  it('suspends and resumes a token on every instance, audited under the admin', async () => {
    const suspended = await action(kit, kit.admin, '/admin/tokens/suspend', { name: 'ci-deploy' });
    expect(suspended.status).toBe(200);
    expect((await kit.fx.gatehouse.serviceTokens.show('ci-deploy')).status).toBe('suspended');
    expect((await page(kit, kit.admin, '/admin/tokens')).body).toContain('Suspended');
    const admin = await kit.fx.gatehouse.core.identity.users.require('admin@acme.test');
    const [event] = await kit.fx.gatehouse.core.audit.list({ type: 'service_token.suspended', limit: 1 });
    expect(event).toMatchObject({ actor: `admin:${admin.id}` });
    const resumed = await action(kit, kit.admin, '/admin/tokens/resume', { name: 'ci-deploy' });
    expect(resumed.status).toBe(200);
    expect((await kit.fx.gatehouse.serviceTokens.show('ci-deploy')).status).toBe('active');
    const [consoleEvent] = await kit.fx.gatehouse.core.audit.list({ type: 'admin.console_action', limit: 1 });
    expect(JSON.parse(JSON.stringify(consoleEvent!.detail))).toEqual({ action: 'service_token.resume', token: 'ci-deploy', owner: 'build@acme.test' });
    const unknown = await action(kit, kit.admin, '/admin/tokens/suspend', { name: 'no-such-token' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toBe('service_token_not_found');
  });

  it('revokes only with the name typed, and refuses without CSRF or with a stale key proof until a step-up', async () => {
    const wrong = await action(kit, kit.admin, '/admin/tokens/revoke', { name: 'ci-deploy', confirm: 'ci-deplo' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toBe('confirmation_mismatch');
    const noToken = await action(kit, kit.admin, '/admin/tokens/revoke', { name: 'ci-deploy', confirm: 'ci-deploy' }, { csrf: null });
    expect(noToken.status).toBe(403);
    expect(noToken.json.error).toBe('csrf_token');
    const otherOrigin = await action(kit, kit.admin, '/admin/tokens/revoke', { name: 'ci-deploy', confirm: 'ci-deploy' }, { origin: 'http://acme-okta.localhost' });
    expect(otherOrigin.status).toBe(403);
    expect(otherOrigin.json.error).toBe('csrf_origin');
    const clientId = (await kit.fx.gatehouse.serviceTokens.show('ci-deploy')).clientId;
    const verdictOf = () => kit.fx.gatehouse.serviceTokens.verify({ clientId, secret: seeded.secrets[0]!, app: 'wiki', now: kit.clock.now() });
    expect(verdictOf()).toMatchObject({ ok: true });
    kit.clock.advance(11 * 60_000);
    const stale = await action(kit, kit.admin, '/admin/tokens/revoke', { name: 'ci-deploy', confirm: 'ci-deploy' });
    expect(stale.status).toBe(403);
    expect(stale.json.code).toBe('admin_step_up_required');
    expect((await kit.fx.gatehouse.serviceTokens.show('ci-deploy')).status).toBe('active');
    expect(await signInThroughPortal(kit.fx, kit.admin, kit.adminKey, { stepUp: true })).toBe(200);
    const done = await action(kit, kit.admin, '/admin/tokens/revoke', { name: 'ci-deploy', confirm: 'ci-deploy' });
    expect(done.status).toBe(200);
    expect((await kit.fx.gatehouse.serviceTokens.show('ci-deploy')).status).toBe('revoked');
    expect(verdictOf()).toMatchObject({ ok: false, code: 'service_token_revoked' });
    const [revoked] = await kit.fx.gatehouse.core.audit.list({ type: 'service_token.revoked', limit: 1 });
    const admin = await kit.fx.gatehouse.core.identity.users.require('admin@acme.test');
    expect(revoked).toMatchObject({ actor: `admin:${admin.id}` });
    const events = await kit.fx.gatehouse.core.store.db.selectFrom('audit_events').select('detail').execute();
    for (const secret of [...seeded.secrets, ...seeded.hashes]) expect(events.some((e) => e.detail.includes(secret))).toBe(false);
    const page2 = await page(kit, kit.admin, '/admin/tokens');
    expect(page2.body).toContain('Revoked');
    const again = await action(kit, kit.admin, '/admin/tokens/suspend', { name: 'ci-deploy' });
    expect(again.status).toBe(409);
  });
});

describe.skipIf(!pgAvailable)('admin console: service tokens, inventory and campaigns (PostgreSQL)', () => {
  let kit: ConsoleKit;
  beforeAll(async () => {
    kit = await startConsoleKit({ databaseUrl: await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_tokens') });
    await seed(kit);
  });
  afterAll(async () => {
    await kit?.close();
  });

  it('shows the three lists with their counts', async () => {
    const reply = await page(kit, kit.admin, '/admin/tokens?q=backup');
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('old-backup');
    expect(reply.body).not.toContain('ci-deploy');
    expect(reply.body).toContain('payroll');
    expect(reply.body).toMatch(/0 \/ 3 done/);
  });
});
