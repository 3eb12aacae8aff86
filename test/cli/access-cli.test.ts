/** `gatehouse apps list`, `policy test` and `ip block` as separate processes. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let fx: GatehouseFixture;

function gatehouse(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), '--config', fx.configPath, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

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

it('apps list and policy test explain decisions without a request', () => {
  expect(JSON.parse(gatehouse(['apps', 'list', '--json']).stdout)).toEqual([
    { name: 'payroll', host: 'payroll.acme.localhost', upstream: 'http://127.0.0.1:9', policies: 'finance-hwk:allow' },
  ]);
  const allowed = JSON.parse(gatehouse(['policy', 'test', '--app', 'payroll', '--user', 'fin@acme.test', '--amr', 'hwk', '--auth-age', '5', '--json']).stdout);
  expect(allowed).toMatchObject({ outcome: 'allow', policy: 'finance-hwk' });
  const totp = gatehouse(['policy', 'test', '--app', 'payroll', '--user', 'fin@acme.test', '--amr', 'pwd', '--amr', 'otp']);
  expect(totp.stdout).toMatch(/^DENY: /);
  expect(totp.stdout).toContain('lacks hwk');
  const stale = JSON.parse(gatehouse(['policy', 'test', '--app', 'payroll', '--user', 'fin@acme.test', '--auth-age', '45', '--json']).stdout);
  expect(stale.outcome).toBe('step_up');
  expect(gatehouse(['policy', 'test', '--app', 'nope', '--user', 'fin@acme.test'])).toMatchObject({ code: 2 });
});

it('ip block from the CLI is refused by the running server', async () => {
  const bad = gatehouse(['ip', 'block', '300.1.1.1', '--reason', 'x']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('300.1.1.1');
  expect(gatehouse(['ip', 'block', '127.0.0.1', '--reason', 'incident test']).code).toBe(0);
  await expect.poll(() => fx.gatehouse.access.ipBlocks.isBlocked('127.0.0.1'), { timeout: 5000 }).toBe(true);
  expect(gatehouse(['ip', 'unblock', '127.0.0.1']).stdout).toBe('unblocked 127.0.0.1\n');
  await expect.poll(() => fx.gatehouse.access.ipBlocks.isBlocked('127.0.0.1'), { timeout: 5000 }).toBe(false);
});
