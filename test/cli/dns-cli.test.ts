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

it('domain block refuses the portal\'s own host, a protected domain and anything covering one, with its code, and blocks nothing', async () => {
  for (const name of ['acme.com', 'login.acme.com', 'com', fx.portalHost, 'localhost']) {
    const refused = await gatehouse(['domain', 'block', 'evil.example', name, '--reason', 'typo in an incident']);
    expect({ name, code: refused.code }).toEqual({ name, code: 1 });
    expect(refused.stderr).toContain('cannot be blocked');
  }
  const lists = JSON.parse((await gatehouse(['dns', 'lists', '--json'])).stdout) as { runtimeBlocks: { name: string }[] };
  expect(lists.runtimeBlocks.map((b) => b.name)).not.toContain('evil.example');
  const [event] = await fx.gatehouse.core.audit.list({ type: 'dns.block_refused', limit: 1 });
  expect(event).toMatchObject({ outcome: 'failure', code: 'dns_domain_never_blocked', actor: 'cli', detail: { name: 'localhost' } });
});

it('an incident refuses to block the portal, a protected domain or a name covering one, dry run or not, and writes nothing', async () => {
  const incidentsBefore = await fx.gatehouse.core.store.db.selectFrom('incidents').select('id').execute();
  for (const [flag, value] of [['--domain', 'acme.com'], ['--domain', 'sso.acme.com'], ['--domain', 'com'], ['--domain', fx.portalHost], ['--url', `${fx.portalOrigin}/sign-in`]] as const) {
    for (const dryRun of [true, false]) {
      const refused = await gatehouse(['incident', 'declare', '--title', 'typo in the indicators', '--domain', 'relay.example', flag, value, ...(dryRun ? ['--dry-run'] : [])]);
      expect({ flag, value, dryRun, code: refused.code }).toEqual({ flag, value, dryRun, code: 2 });
      expect(refused.stderr).toContain('[incident_domain_never_blocked]');
      expect(refused.stderr).toContain('an incident cannot block it');
    }
  }
  expect(await fx.gatehouse.core.store.db.selectFrom('incidents').select('id').execute()).toEqual(incidentsBefore);
  expect((await fx.gatehouse.core.store.db.selectFrom('domain_blocks').select('name').where('name', '=', 'relay.example').execute())).toEqual([]);
  // The store's owner refuses it too, whatever the caller (an incident step resumed after a config change, a report).
  const { domainBlocksOf } = await import('../../src/dns/index.js');
  await expect(domainBlocksOf(fx.gatehouse.core).block(['relay.example', 'Login.ACME.com.'], { reason: 'resumed step', actor: 'incident:inc-test' })).rejects.toMatchObject({ code: 'dns_domain_never_blocked' });
  expect((await fx.gatehouse.core.store.db.selectFrom('domain_blocks').select('name').where('name', '=', 'relay.example').execute())).toEqual([]);
  const [event] = await fx.gatehouse.core.audit.list({ type: 'dns.block_refused', limit: 1 });
  expect(event).toMatchObject({ outcome: 'failure', code: 'dns_domain_never_blocked', actor: 'incident:inc-test', detail: { name: 'login.acme.com', covers: 'acme.com' } });
});

it('a plain-http personal DoH URL comes with a note that DoH clients need https and how to get it', async () => {
  await fx.gatehouse.core.identity.users.add({ email: 'doh-note@acme.test' });
  const result = await gatehouse(['dns', 'token', 'doh-note@acme.test']);
  expect(result.stdout).toMatch(/^http:\/\//);
  expect(result.stderr).toContain('DNS-over-HTTPS clients accept only https URLs');
  expect(result.stderr).toContain('server.https');
  expect(result.stderr).toContain('server.public_url');
});

it('behind a TLS proxy (server.public_url https) the personal DoH URL is https and no note is printed', async () => {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const path = join(fx.dir, 'behind-proxy.yaml');
  writeFileSync(path, readFileSync(fx.configPath, 'utf8').replace('  portal_host:', '  public_url: https://sso.acme.localhost\n  portal_host:'));
  const result = await runGatehouse(['dns', 'token', 'doh-note@acme.test'], { config: path });
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^https:\/\/sso\.acme\.localhost\/dns-query\/[A-Za-z0-9_-]{43}\n$/);
  expect(result.stderr).toBe('');
});

it('domain check without a protected brand says so and names the setting', async () => {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const path = join(fx.dir, 'no-brand.yaml');
  writeFileSync(path, readFileSync(fx.configPath, 'utf8').replace(/dns:\n  protect:\n    brands: \[acme\]\n    domains: \[acme\.com\]\n/, ''));
  const result = await runGatehouse(['domain', 'check', '--offline', 'acme-okta.com'], { config: path });
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^ALLOW acme-okta\.com/);
  expect(result.stderr).toContain('no protected brand is configured');
  expect(result.stderr).toContain('dns.protect');
  // With the brand configured (the fixture's own config) there is no such note.
  expect((await gatehouse(['domain', 'check', '--offline', 'acme-okta.com'])).stderr).not.toContain('no protected brand');
});

it('the demo config protects a brand, so the demo shows a lookalike flagged', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-dns-'));
  try {
    expect((await runGatehouse(['init', '--dir', dir])).code).toBe(0);
    const result = await runGatehouse(['domain', 'check', '--offline', 'acme-okta.com'], { config: join(dir, 'gatehouse.yaml') });
    expect(result.stdout).toMatch(/^BLOCK acme-okta\.com/);
    expect(result.stderr).not.toContain('no protected brand');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
