/** `gatehouse apps list`, `policy test` and `ip block`, in-process against a running server's database. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (args: string[]) => runGatehouse(args, { config: fx.configPath });
const json = async (args: string[]) => JSON.parse((await gatehouse(args)).stdout) as Record<string, unknown>;

beforeAll(async () => {
  fx = await startFixture({
    extraYaml: `apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: finance-hwk, action: allow, include: [{ group: [finance] }], require: [{ auth_method: [hwk] }, { auth_age: 30 }] }
`,
  });
  await fx.gatehouse.core.identity.users.add({ email: 'fin@acme.test', groups: ['finance'] });
});
afterAll(() => fx.close());

it('apps list and policy test explain decisions without a request', async () => {
  expect(await json(['apps', 'list', '--json'])).toEqual([
    { name: 'payroll', host: 'payroll.acme.localhost', upstream: 'http://127.0.0.1:9', policies: [{ name: 'finance-hwk', action: 'allow' }] },
  ]);
  const allowed = await json(['policy', 'test', '--app', 'payroll', '--user', 'fin@acme.test', '--amr', 'hwk', '--auth-age', '5', '--json']);
  expect(allowed).toMatchObject({ outcome: 'allow', policy: 'finance-hwk' });
  const totp = await gatehouse(['policy', 'test', '--app', 'payroll', '--user', 'fin@acme.test', '--amr', 'pwd', '--amr', 'otp']);
  expect(totp.stdout).toMatch(/^DENY: /);
  expect(totp.stdout).toContain('lacks hwk');
  const stale = await json(['policy', 'test', '--app', 'payroll', '--user', 'fin@acme.test', '--auth-age', '45', '--json']);
  expect(stale.outcome).toBe('step_up');
  expect(await gatehouse(['policy', 'test', '--app', 'nope', '--user', 'fin@acme.test'])).toMatchObject({ code: 2 });
  const badAmr = await gatehouse(['policy', 'test', '--app', 'payroll', '--amr', 'fido']);
  expect(badAmr.code).toBe(2);
  expect(badAmr.stderr).toContain('--amr fido');
});

it('ip block from the CLI is refused by the running server', async () => {
  const bad = await gatehouse(['ip', 'block', '300.1.1.1', '--reason', 'x']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('300.1.1.1');
  expect((await gatehouse(['ip', 'block', '127.0.0.1', '--reason', 'incident test'])).code).toBe(0);
  await expect.poll(() => fx.gatehouse.access.ipBlocks.isBlocked('127.0.0.1'), { timeout: 5000 }).toBe(true);
  expect((await gatehouse(['ip', 'list', '--json'])).stdout).toContain('incident test');
  expect((await gatehouse(['ip', 'unblock', '127.0.0.1'])).stdout).toBe('unblocked 127.0.0.1\n');
  await expect.poll(() => fx.gatehouse.access.ipBlocks.isBlocked('127.0.0.1'), { timeout: 5000 }).toBe(false);
  expect((await gatehouse(['ip', 'unblock', '127.0.0.1'])).stdout).toBe('127.0.0.1 was not blocked\n');
});

it('ip block refuses a range that would refuse almost everyone (wider than IPv4 /8, IPv6 /16, mapped ranges as IPv4), audited, nothing stored', async () => {
  for (const cidr of ['0.0.0.0/0', '128.0.0.0/1', '10.0.0.0/7', '::/0', '2000::/3', '2000::/15', '::ffff:0.0.0.0/96']) {
    const refused = await gatehouse(['ip', 'block', cidr, '--reason', 'pasted default route']);
    expect({ cidr, code: refused.code }).toEqual({ cidr, code: 1 });
    expect(refused.stderr).toContain('[ip_block_too_wide]');
  }
  const [event] = await fx.gatehouse.core.audit.list({ type: 'ip.block_refused', limit: 1 });
  expect(event).toMatchObject({ outcome: 'failure', code: 'ip_block_too_wide', actor: 'cli', detail: { cidr: '::ffff:0.0.0.0/96' } });
  // The widest ranges still allowed: a /8 and an IPv6 /16.
  for (const cidr of ['10.0.0.0/8', '2001::/16']) {
    expect((await gatehouse(['ip', 'block', cidr, '--reason', 'hosting provider'])).code).toBe(0);
    expect((await gatehouse(['ip', 'unblock', cidr])).code).toBe(0);
  }
  expect((await fx.gatehouse.core.store.db.selectFrom('ip_blocks').select('cidr').execute()).map((row) => row.cidr)).toEqual([]);
  // An incident names the bad indicator before anything is written, dry run included.
  for (const dryRun of [true, false]) {
    const incident = await gatehouse(['incident', 'declare', '--title', 'pasted list', '--ip', '203.0.113.7', '--ip', '0.0.0.0/0', ...(dryRun ? ['--dry-run'] : [])]);
    expect(incident.code).toBe(2);
    expect(incident.stderr).toContain('[incident_ip_too_wide]');
  }
  expect(await fx.gatehouse.core.store.db.selectFrom('incidents').select('id').execute()).toEqual([]);
});
