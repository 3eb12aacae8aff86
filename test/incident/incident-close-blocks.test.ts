/**
 * Closing an incident says which of its blocks stay and lifts them with --lift-blocks (only the blocks it
 * added); strict new-domain isolation shows in `dns lists` with the incident that turned it on and is
 * switched off by `dns strict off`; all through the real CLI against one store.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (args: string[]) => runGatehouse(args, { config: fx.configPath });

interface Lists {
  strictNewDomains: { on: boolean; since: string | null; by: string | null; incident: string | null };
  runtimeBlocks: { name: string }[];
}
const lists = async () => JSON.parse((await gatehouse(['dns', 'lists', '--json'])).stdout) as Lists;
const declare = async (title: string, args: string[]) => {
  const result = await gatehouse(['incident', 'declare', '--title', title, ...args, '--json']);
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { id: string }).id;
};

beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

it('strict mode is visible in dns lists, kept blocks are named on close, and --lift-blocks lifts only what the incident added', async () => {
  const before = await lists();
  expect(before.strictNewDomains).toEqual({ on: false, since: null, by: null, incident: null });

  // Blocked by an operator before the incident names it too: not the incident's to lift.
  expect((await gatehouse(['domain', 'block', 'shared-kit.example', '--reason', 'phishing kit host'])).code).toBe(0);
  const id = await declare('CFO mailbox phished', ['--domain', 'acme-payroll.example', '--domain', 'shared-kit.example', '--ip', '203.0.113.9']);

  const during = await lists();
  expect(during.strictNewDomains).toMatchObject({ on: true, by: `incident:${id}`, incident: id });
  expect(during.strictNewDomains.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const text = (await gatehouse(['dns', 'lists'])).stdout;
  expect(text).toContain(`strict new-domain isolation: on since ${during.strictNewDomains.since} (turned on by incident ${id})`);

  const closed = await gatehouse(['incident', 'close', id]);
  expect(closed.code).toBe(0);
  expect(closed.stdout).toContain('these blocks this incident added stay in force:');
  expect(closed.stdout).toContain('domain acme-payroll.example');
  expect(closed.stdout).toContain('ip 203.0.113.9/32');
  expect(closed.stdout).not.toContain('shared-kit.example');
  expect(closed.stdout).toContain(`gatehouse incident close ${id} --lift-blocks`);
  expect((await lists()).runtimeBlocks.map((b) => b.name)).toEqual(['acme-payroll.example', 'shared-kit.example']);

  const lifted = await gatehouse(['incident', 'close', id, '--lift-blocks', '--json']);
  expect(lifted.code).toBe(0);
  const body = JSON.parse(lifted.stdout) as { status: string; blocks: unknown };
  expect(body.status).toBe('closed');
  expect(body.blocks).toEqual({ domains: ['acme-payroll.example'], ips: ['203.0.113.9/32'], lifted: true, strictNewDomains: { onByThisIncident: true, switchedOff: true } });
  const after = await lists();
  expect(after.runtimeBlocks.map((b) => b.name)).toEqual(['shared-kit.example']);
  expect(after.strictNewDomains).toMatchObject({ on: false, by: 'cli', incident: null });
  const ips = await fx.gatehouse.core.store.db.selectFrom('ip_blocks').select('cidr').execute();
  expect(ips).toEqual([]);
  const events = await fx.gatehouse.core.store.db.selectFrom('audit_events').select(['type', 'actor']).where('type', 'in', ['incident.blocks_lifted', 'dns.domains_unblocked', 'ip.unblocked']).execute();
  expect(events.map((e) => e.type).sort()).toEqual(['dns.domains_unblocked', 'incident.blocks_lifted', 'ip.unblocked']);

  // A closed incident's blocks are lifted once: a second --lift-blocks finds nothing of its own left.
  const again = await gatehouse(['incident', 'close', id, '--lift-blocks']);
  expect(again.stdout).toContain('this incident had no blocks left to lift');
  // Closing twice without --lift-blocks is still refused.
  expect((await gatehouse(['incident', 'close', id])).code).toBe(1);
});

it('dns strict switches isolation on and off (audited) and refuses anything else with a usage error', async () => {
  const on = await gatehouse(['dns', 'strict', 'on']);
  expect(on.stdout).toBe('strict new-domain isolation is on\n');
  expect((await lists()).strictNewDomains).toMatchObject({ on: true, by: 'cli', incident: null });
  expect((await gatehouse(['dns', 'strict', 'off'])).stdout).toBe('strict new-domain isolation is off\n');
  expect((await lists()).strictNewDomains.on).toBe(false);
  const bad = await gatehouse(['dns', 'strict', 'maybe']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('[usage]');
  const events = await fx.gatehouse.core.store.db.selectFrom('audit_events').select(['actor']).where('type', '=', 'dns.strict_new_domains').where('actor', '=', 'cli').execute();
  expect(events.length).toBeGreaterThanOrEqual(3);
});
