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
