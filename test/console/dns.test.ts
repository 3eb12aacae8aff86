/**
 * The console's DNS page: the query log searched by name, client, user, verdict and time in keyset
 * pages; the lists and runtime blocks in force; `domain check` through the gateway's own classifier;
 * blocking and unblocking domains and addresses through the runtime-block APIs (feed rows), never the
 * portal's own host nor a protected or never-block domain, nor the admin's own address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';
import { signInThroughPortal } from '../support/portal-sign-in.js';
import { action, csrfOf, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

const EXTRA = `dns:
  protect:
    brands: [acme]
    domains: [acme.test]
  age:
    enabled: false
reports:
  never_block: [github.com]
`;

const pgUp = await havePostgres();
// The searches are index ranges written per engine (prefix: a byte range on SQLite, LIKE on PostgreSQL).
const engines = [{ engine: 'SQLite', database: async () => undefined }, ...(pgUp ? [{ engine: 'PostgreSQL', database: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_dns') }] : [])];

describe.each(engines)('admin console: DNS ($engine)', ({ database }) => {
  let kit: ConsoleKit;
  let base: number;
  beforeAll(async () => {
    const databaseUrl = await database();
    kit = await startConsoleKit({ extraYaml: EXTRA, ...(databaseUrl ? { databaseUrl } : {}) });
    const core = kit.fx.gatehouse.core;
    const staff = (await core.identity.users.require('staff@acme.test')).id;
    base = kit.clock.now() - 3_600_000;
    const rows = Array.from({ length: 250 }, (_, i) => ({
      // Several rows share an instant: the keyset must still page through every one exactly once.
      at: base + Math.floor(i / 3) * 1000,
      client: i % 2 ? '10.0.0.7' : '10.0.0.8',
      user_id: i % 5 === 0 ? staff : null,
      protocol: 'udp',
      name: i % 10 === 0 ? 'login.acme-secure.test' : `host${i}.example.test`,
      type: 'A',
      verdict: i % 10 === 0 ? 'block' : 'allow',
      reason: i % 10 === 0 ? 'lookalike' : '',
      latency_ms: 1,
    }));
    rows.push({ at: base + 200_000, client: '10.0.0.9', user_id: null, protocol: 'udp', name: '<script>alert(1)</script>.evil.test', type: 'A', verdict: 'allow', reason: '', latency_ms: 1 });
    await core.store.db.insertInto('dns_queries').values(rows).execute();
  });
  afterAll(async () => {
    await kit?.close();
  });

  it('shows the query log, lists and blocks to an admin; staff get a refusal page without data', async () => {
    const reply = await page(kit, kit.admin, '/admin/dns');
    expect(reply.status).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.body).toContain('login.acme-secure.test');
    expect(reply.body).toContain('Strict new-domain isolation');
    expect(reply.body).toContain('No runtime domain block');
    // Hostile names in the log are text, never markup.
    expect(reply.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.evil.test');
    expect(reply.body).not.toContain('<script>alert');
    const staff = await page(kit, kit.staff, '/admin/dns');
    expect(staff.status).toBe(403);
    expect(staff.body).not.toContain('login.acme-secure.test');
    const denied = await kit.fx.gatehouse.core.audit.list({ type: 'admin.denied', limit: 20 });
    expect(denied.map((e) => e.code)).toContain('admin_forbidden');
  });

  it('filters by exact name, prefix, client, user and verdict', async () => {
    const count = (body: string, text: string) => body.split(text).length - 1;
    const exact = await page(kit, kit.admin, '/admin/dns?name=login.acme-secure.test&limit=500');
    expect(count(exact.body, '<code>login.acme-secure.test</code>')).toBe(25);
    expect(exact.body).not.toContain('example.test');
    const prefix = await page(kit, kit.admin, '/admin/dns?name=host1&match=prefix&limit=500');
    // host1, host10..19 (host10 is not a row: i=10 is the lookalike), host100..199 without multiples of 10.
    expect(prefix.body).toContain('host1.example.test');
    expect(prefix.body).toContain('host199.example.test');
    expect(prefix.body).not.toContain('host2.example.test');
    const client = await page(kit, kit.admin, '/admin/dns?client=10.0.0.9');
    expect(client.body).toContain('evil.test');
    expect(client.body).not.toContain('example.test');
    const user = await page(kit, kit.admin, '/admin/dns?user=STAFF@acme.test&limit=500');
    expect(count(user.body, 'staff@acme.test</td>')).toBe(50);
    const nobody = await page(kit, kit.admin, '/admin/dns?user=nobody@acme.test');
    expect(nobody.body).toContain('No user has the email nobody@acme.test');
    const blocked = await page(kit, kit.admin, '/admin/dns?verdict=block&limit=500');
    expect(count(blocked.body, 'verdict-block">block')).toBe(25);
    const window = new Date(base + 10_000).toISOString().slice(0, 19);
    const timed = await page(kit, kit.admin, `/admin/dns?to=${window}&limit=500`);
    // Rows at base+0..9 s: three per second.
    expect(count(timed.body, '<tr><td><time')).toBe(30);
  });

  it('pages through the log by keyset without repeating or skipping a row', async () => {
    const seen: string[] = [];
    let path: string | undefined = '/admin/dns?client=10.0.0.7&limit=40';
    let pages = 0;
    while (path && pages < 10) {
      const reply = await page(kit, kit.admin, path);
      expect(reply.status).toBe(200);
      seen.push(...[...reply.body.matchAll(/<code>(host\d+\.example\.test|login\.acme-secure\.test)<\/code>/g)].map((m) => m[1]!));
      const next = /href="(\/admin\/dns\?[^"]*before=[^"]*)"/.exec(reply.body)?.[1];
      path = next?.replace(/&amp;/g, '&');
      pages++;
    }
    expect(pages).toBe(4);
    expect(seen).toHaveLength(125);
    const hosts = seen.filter((n) => n.startsWith('host'));
    expect(new Set(hosts).size).toBe(hosts.length);
  });

  it('answers bad search parameters with a 400 naming them, never a crash', async () => {
    for (const [query, named] of [
      ['name=%25evil', '"name"'],
      ['match=contains', '"match"'],
      ['client=not-an-ip', '"client"'],
      ['verdict=bogus', '"verdict"'],
      ['limit=0', '"limit"'],
      ['limit=100000', '"limit"'],
      ['before=xyz', '"before"'],
      ['from=yesterday', '"from"'],
      ['from=2026-12-07T10:00&to=2026-12-07T09:00', '"to"'],
      ['name=a&name=b', '"name"'],
    ] as const) {
      const reply = await page(kit, kit.admin, `/admin/dns?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body, query).toContain(named.replace(/"/g, '&quot;'));
    }
  });

  it('checks a domain with the gateway classifier and shows its reasons', async () => {
    const reply = await page(kit, kit.admin, '/admin/dns?check=acme-login.test');
    expect(reply.status).toBe(200);
    const verdict = await kit.fx.gatehouse.dns.intel.classifier.classify('acme-login.test');
    expect(verdict.action).not.toBe('allow');
    expect(reply.body).toContain(`verdict-${verdict.action}`);
    for (const reason of verdict.reasons) expect(reply.body).toContain(`<code>${reason.code}</code> ${reason.detail.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')}`);
    const hostile = await page(kit, kit.admin, `/admin/dns?check=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(hostile.status).toBe(200);
    expect(hostile.body).not.toContain('<script>alert');
  });

  it('blocks and unblocks a domain on every instance through the runtime blocks, audited', async () => {
    const core = kit.fx.gatehouse.core;
    const blocked = await action(kit, kit.admin, '/admin/dns/block-domain', { names: 'Evil-Login.test\nphish.example.test', reason: 'phishing kit' });
    expect(blocked.status).toBe(200);
    expect(blocked.json.ok).toBe(true);
    const rows = await core.store.db.selectFrom('domain_blocks').selectAll().execute();
    expect(rows.map((r) => r.name).sort()).toEqual(['evil-login.test', 'phish.example.test']);
    const admin = (await core.identity.users.require('admin@acme.test')).id;
    expect(rows[0]!.created_by).toBe(`admin:${admin}`);
    const feed = await core.store.db.selectFrom('change_feed').select('kind').where('kind', '=', 'dns.blocks_changed').execute();
    expect(feed.length).toBeGreaterThan(0);
    const audited = await core.audit.list({ type: 'admin.console_action', limit: 10 });
    expect(audited.some((e) => (e.detail as { action?: string }).action === 'dns.block_domains' && e.userId === admin)).toBe(true);
    const listed = await page(kit, kit.admin, '/admin/dns');
    expect(listed.body).toContain('phishing kit');

    const unblocked = await action(kit, kit.admin, '/admin/dns/unblock-domain', { name: 'evil-login.test' });
    expect(unblocked.json.ok).toBe(true);
    expect((await core.store.db.selectFrom('domain_blocks').select('name').execute()).map((r) => r.name)).toEqual(['phish.example.test']);
    const bad = await action(kit, kit.admin, '/admin/dns/block-domain', { names: 'bad..name', reason: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('dns_invalid_domain');
  });

  it('refuses to block the portal, a parent of it, a protected or a never-block domain, and records why', async () => {
    const core = kit.fx.gatehouse.core;
    for (const name of ['sso.acme.localhost', 'acme.localhost', 'acme.test', 'login.acme.test', 'github.com', 'test']) {
      const refused = await action(kit, kit.admin, '/admin/dns/block-domain', { names: `harmless.example.test ${name}`, reason: 'mistake' });
      expect(refused.status, name).toBe(409);
      expect(refused.json.error, name).toBe('dns_domain_never_blocked');
    }
    const names = (await core.store.db.selectFrom('domain_blocks').select('name').execute()).map((r) => r.name);
    expect(names).not.toContain('harmless.example.test');
    const refusals = await core.audit.list({ type: 'dns.block_refused', limit: 10 });
    expect(refusals[0]?.code).toBe('dns_domain_never_blocked');
  });

  it('blocks and unblocks an address through the IP blocks, never the admin’s own', async () => {
    const { core, access } = kit.fx.gatehouse;
    const blocked = await action(kit, kit.admin, '/admin/dns/block-ip', { cidr: '203.0.113.0/24', reason: 'scanner', hours: '2' });
    expect(blocked.json.ok).toBe(true);
    const row = await core.store.db.selectFrom('ip_blocks').selectAll().where('cidr', '=', '203.0.113.0/24').executeTakeFirst();
    expect(row?.expires_at).toBe(kit.clock.now() + 2 * 3_600_000);
    await expect.poll(() => access.ipBlocks.isBlocked('203.0.113.9')).toBe(true);
    expect((await page(kit, kit.admin, '/admin/dns')).body).toContain('203.0.113.0/24');

    const own = await action(kit, kit.admin, '/admin/dns/block-ip', { cidr: '127.0.0.0/8', reason: 'oops' });
    expect(own.status).toBe(409);
    expect(own.json.error).toBe('ip_block_own_address');
    const malformed = await action(kit, kit.admin, '/admin/dns/block-ip', { cidr: '10.0.0.1/8', reason: 'typo' });
    expect(malformed.status).toBe(400);
    const hours = await action(kit, kit.admin, '/admin/dns/block-ip', { cidr: '198.51.100.1', reason: 'x', hours: '-1' });
    expect(hours.status).toBe(400);

    const unblocked = await action(kit, kit.admin, '/admin/dns/unblock-ip', { cidr: '203.0.113.0/24' });
    expect(unblocked.json.ok).toBe(true);
    await expect.poll(() => access.ipBlocks.isBlocked('203.0.113.9')).toBe(false);
  });

  it('refuses a block without the CSRF token or with a stale key proof, then acts after a step-up', async () => {
    const core = kit.fx.gatehouse.core;
    const noToken = await action(kit, kit.admin, '/admin/dns/block-domain', { names: 'csrf.example.test', reason: 'x' }, { csrf: null });
    expect(noToken.status).toBe(403);
    expect(noToken.json.error).toBe('csrf_token');
    const staff = await action(kit, kit.staff, '/admin/dns/block-domain', { names: 'csrf.example.test', reason: 'x' }, { csrf: await csrfOf(kit, kit.staff, '/account') .catch(() => 'A'.repeat(43)) });
    expect(staff.json.error).toBe('admin_forbidden');
    kit.clock.advance(11 * 60_000);
    const stale = await action(kit, kit.admin, '/admin/dns/block-domain', { names: 'csrf.example.test', reason: 'x' });
    expect(stale.status).toBe(403);
    expect(stale.json.code).toBe('admin_step_up_required');
    expect(await core.store.db.selectFrom('domain_blocks').select('name').where('name', '=', 'csrf.example.test').executeTakeFirst()).toBeUndefined();
    expect(await signInThroughPortal(kit.fx, kit.admin, kit.adminKey, { stepUp: true })).toBe(200);
    const done = await action(kit, kit.admin, '/admin/dns/block-domain', { names: 'csrf.example.test', reason: 'x' });
    expect(done.json.ok).toBe(true);
  });
});
