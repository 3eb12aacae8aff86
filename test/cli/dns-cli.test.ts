/** `gatehouse domain check` (arguments and standard input), `domain block`, `dns lists`, `dns token`, in-process. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (args: string[], input?: string) => runGatehouse(args, { config: fx.configPath, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  fx = await startFixture({ extraYaml: 'dns:\n  protect:\n    brands: [acme]\n    domains: [acme.com]\n' });
});
afterAll(() => fx.close());

it('domain check flags lookalikes of the protected brand, from arguments and from standard input', async () => {
  const result = await gatehouse(['domain', 'check', '--offline', 'acme-okta.com', 'acme.com', 'wikipedia.org']);
  expect(result.code).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^BLOCK acme-okta\.com .*acme/);
  expect(lines[1]).toMatch(/^ALLOW acme\.com/);
  expect(lines[2]).toMatch(/^ALLOW wikipedia\.org/);
  expect(result.stderr).toContain('3 checked, 1 flagged');
  const piped = await gatehouse(['domain', 'check', '--offline', '--json'], 'acmesso.net\n# comment\n\nxn--acm-ppa.com\n');
  const verdicts = piped.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; action: string });
  expect(verdicts.map((v) => v.name)).toEqual(['acmesso.net', 'xn--acm-ppa.com']);
  expect(verdicts[0]!.action).toBe('block');
});

it('domain block from the CLI reaches the store and dns lists shows it; dns token prints a personal URL', async () => {
  expect((await gatehouse(['domain', 'block', 'kit.example', '--reason', 'incident test'])).stdout).toBe('blocked 1 new name(s)\n');
  const lists = JSON.parse((await gatehouse(['dns', 'lists', '--json'])).stdout) as { runtimeBlocks: { name: string }[] };
  expect(lists.runtimeBlocks.map((b) => b.name)).toEqual(['kit.example']);
  const bad = await gatehouse(['domain', 'block', 'not a domain!', '--reason', 'x']);
  expect(bad.code).toBe(2);
  await fx.gatehouse.core.identity.users.add({ email: 'dns-user@acme.test' });
  expect((await gatehouse(['dns', 'token', 'dns-user@acme.test'])).stdout).toMatch(new RegExp(`^${fx.portalOrigin}/dns-query/[A-Za-z0-9_-]{43}\\n$`));
  expect((await gatehouse(['domain', 'unblock', 'kit.example'])).stdout).toBe('unblocked 1 name(s)\n');
});
