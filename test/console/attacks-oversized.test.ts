/**
 * Oversized input against the console (the attacker's view, written before the tests): a script in
 * a compromised admin's browser, or a stolen cookie on the read-only pages, sends what no form would:
 * a 1 MB search query, a 1 MB form body, thousands of distinct values in one hunt or declaration
 * (each becomes a bound parameter: SQLite stops at 32,766, PostgreSQL at 65,535, and an IN list that
 * long is a scan), 10,000 groups in one invite. Each must be a 4xx naming the limit or a bounded
 * answer, never a 500, and nothing half done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { action, csrfOf, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

describe('console attacks: oversized input', { timeout: 120_000 }, () => {
  let kit: ConsoleKit;
  let incidentId: string;
  beforeAll(async () => {
    kit = await startConsoleKit({ extraYaml: 'dns:\n  age:\n    enabled: false\n' });
    const declared = await kit.fx.gatehouse.incidents.declare({ title: 'Oversized', domains: ['lure.evil.test'] }, { actor: 'test' });
    if (!('incident' in declared)) throw new Error('not declared');
    incidentId = declared.incident.id;
  });
  afterAll(async () => {
    await kit?.close();
  });

  const ips = (n: number) => Array.from({ length: n }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i}.evil.test`);

  it('refuses a 1 MB query string and a 1 MB form body before any handler', async () => {
    const query = await page(kit, kit.admin, `/admin/sessions?q=${'a'.repeat(1_000_000)}`);
    expect(query.status).toBeGreaterThanOrEqual(400);
    expect(query.status).toBeLessThan(500);
    const token = await csrfOf(kit, kit.admin);
    const blocks = await kit.fx.gatehouse.dns.domainBlocks.list();
    const body = await action(kit, kit.admin, '/admin/dns/block-domain', { names: 'evil.test', reason: 'r'.repeat(2_000_000) }, { csrf: token });
    expect(body.status).toBe(413);
    expect(await kit.fx.gatehouse.dns.domainBlocks.list()).toEqual(blocks);
  });

  it('answers hunts over thousands of distinct values (inside the 64 KB body) with a bounded answer or a 4xx, never a 500', async () => {
    const seen = [];
    for (const [hunt, values] of [
      ['from-ip', ips(4_500)],
      ['resolved-domain', Array.from({ length: 6_000 }, (_, i) => `${i.toString(36)}.io`)],
      ['token-use', Array.from({ length: 9_000 }, (_, i) => `t${i.toString(36)}`)],
    ] as const) {
      const reply = await action(kit, kit.admin, `/admin/incidents/${incidentId}/hunt`, { hunt, values: values.join(' ') });
      // 413 would mean the body never reached the hunt: the case would prove nothing.
      seen.push({ hunt, status: reply.status !== 413 && reply.status < 500 ? 'handled' : `${reply.status} ${reply.reply.body.slice(0, 200)}` });
    }
    expect(seen).toEqual([
      { hunt: 'from-ip', status: 'handled' },
      { hunt: 'resolved-domain', status: 'handled' },
      { hunt: 'token-use', status: 'handled' },
    ]);
  });

  it('answers a declaration plan naming thousands of domains and addresses with a 4xx or a plan, never a 500', async () => {
    const before = (await kit.fx.gatehouse.core.store.db.selectFrom('incidents').select('id').execute()).length;
    const plan = await action(kit, kit.admin, '/admin/incidents/plan', { title: 'Many', domains: Array.from({ length: 3_000 }, (_, i) => `${i.toString(36)}.io`).join(' '), ips: ips(2_500).join(' ') });
    expect(plan.status).not.toBe(413);
    expect(plan.status).toBeLessThan(500);
    expect((await kit.fx.gatehouse.core.store.db.selectFrom('incidents').select('id').execute()).length).toBe(before);
  });

  it('refuses 10,000 groups in one invite (the body limit) and 2,000 (the field limit), and invites nobody', async () => {
    const group = (n: number) => Array.from({ length: n }, (_, i) => `g${i}`).join(',');
    expect((await action(kit, kit.admin, '/admin/users/invite', { email: 'many-groups@acme.test', groups: group(10_000) })).status).toBe(413);
    const reply = await action(kit, kit.admin, '/admin/users/invite', { email: 'many-groups@acme.test', groups: group(2_000) });
    expect({ status: reply.status, code: reply.json.error }).toEqual({ status: 400, code: 'invalid_input' });
    const few = await action(kit, kit.admin, '/admin/users/invite', { email: 'many-groups@acme.test', groups: Array.from({ length: 21 }, (_, i) => `g${i}`).join(',') });
    expect({ status: few.status, code: few.json.error, message: few.json.message }).toEqual({ status: 400, code: 'invalid_input', message: 'At most 20 groups at once.' });
    expect(await kit.fx.gatehouse.core.identity.users.findByEmail('many-groups@acme.test')).toBeUndefined();
  });

  it('refuses more names than a block takes, blocking none', async () => {
    const blocks = await kit.fx.gatehouse.dns.domainBlocks.list();
    const reply = await action(kit, kit.admin, '/admin/dns/block-domain', { names: names(900).join('\n').slice(0, 10_000), reason: 'flood' });
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(await kit.fx.gatehouse.dns.domainBlocks.list()).toEqual(blocks);
  });
});
