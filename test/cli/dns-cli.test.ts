/** `gatehouse domain check` (arguments and standard input), `domain block`, `dns lists`, `dns token`. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let fx: GatehouseFixture;

function gatehouse(args: string[], input?: string) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), '--config', fx.configPath, ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 60_000,
    ...(input !== undefined ? { input } : {}),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  fx = await startFixture({ extraYaml: 'dns:\n  protect:\n    brands: [acme]\n    domains: [acme.com]\n' });
});
afterAll(() => fx.close());

it('domain check flags lookalikes of the protected brand, from arguments and from standard input', () => {
  const result = gatehouse(['domain', 'check', '--offline', 'acme-okta.com', 'acme.com', 'wikipedia.org']);
  expect(result.code).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^BLOCK acme-okta\.com .*acme/);
  expect(lines[1]).toMatch(/^ALLOW acme\.com/);
  expect(lines[2]).toMatch(/^ALLOW wikipedia\.org/);
  expect(result.stderr).toContain('3 checked, 1 flagged');
  const piped = gatehouse(['domain', 'check', '--offline', '--json'], 'acmesso.net\n# comment\n\nxn--acm-ppa.com\n');
  const verdicts = piped.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; action: string });
  expect(verdicts.map((v) => v.name)).toEqual(['acmesso.net', 'xn--acm-ppa.com']);
  expect(verdicts[0]!.action).toBe('block');
});

it('domain block from the CLI reaches the store and dns lists shows it; dns token prints a personal URL', async () => {
  expect(gatehouse(['domain', 'block', 'kit.example', '--reason', 'incident test']).stdout).toBe('blocked 1 new name(s)\n');
  const lists = JSON.parse(gatehouse(['dns', 'lists', '--json']).stdout) as { runtimeBlocks: { name: string }[] };
  expect(lists.runtimeBlocks.map((b) => b.name)).toEqual(['kit.example']);
  const bad = gatehouse(['domain', 'block', 'not a domain!', '--reason', 'x']);
  expect(bad.code).toBe(2);
  await fx.gatehouse.core.identity.users.add({ email: 'dns-user@acme.test' });
  expect(gatehouse(['dns', 'token', 'dns-user@acme.test']).stdout).toMatch(new RegExp(`^${fx.portalOrigin}/dns-query/[A-Za-z0-9_-]{43}\\n$`));
});
