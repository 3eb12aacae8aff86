/**
 * The CLI as a separate process, one test per command family: exit statuses as a shell sees them, piped
 * standard input, and changes written by another process reaching the running server through the store.
 * Behaviour in detail is tested in-process (cli.test.ts and siblings); these run the CLI built once per
 * test run (test/global-setup.ts), not TypeScript compiled per start.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatehouseProcess } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (args: string[], input?: string) => runGatehouseProcess(args, { config: fx.configPath, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  fx = await startFixture({
    extraYaml: `dns:
  protect: { brands: [acme], domains: [acme.com] }
apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: finance-hwk, action: allow, include: [{ group: [finance] }], require: [{ auth_method: [hwk] }] }
`,
  });
});
afterAll(() => fx.close());

describe('gatehouse as a process', () => {
  it('help: exit 0; an unknown command or a bad config: exit 2', async () => {
    const [help, unknown] = await Promise.all([gatehouse(['--help']), gatehouse(['no-such-command'])]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: gatehouse');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'no-such-command'");
    const bad = join(fx.dir, 'bad.yaml');
    writeFileSync(bad, 'server:\n  portal_host: x\n  http: { port: "eighty" }\n');
    const check = await runGatehouseProcess(['config', 'check', bad]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('server.http.port:');
  });

  it('user and sessions: an invite from another process, and a revocation the running server applies', async () => {
    const invite = await gatehouse(['user', 'invite', 'proc@acme.test', '--json']);
    expect(invite.code).toBe(0);
    expect(JSON.parse(invite.stdout)).toMatchObject({ email: 'proc@acme.test' });
    const { identity } = fx.gatehouse.core;
    const user = await identity.users.require('proc@acme.test');
    const { token } = await identity.sessions.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.9', userAgent: 'test' });
    expect(await identity.sessions.validate(token)).toBeDefined();
    expect(await gatehouse(['sessions', 'revoke', '--user', 'proc@acme.test'])).toMatchObject({ code: 0, stdout: '1 session(s) revoked\n' });
    await expect.poll(() => identity.sessions.validate(token), { timeout: 5000 }).toBeUndefined();
    const ghost = await gatehouse(['user', 'show', 'ghost@acme.test']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('user_not_found');
  });

  it('apps, policy and ip: a decision explained, and a block the running server applies', async () => {
    const decision = await gatehouse(['policy', 'test', '--app', 'payroll']);
    expect(decision.code).toBe(0);
    expect(decision.stdout).toMatch(/^SIGN_IN by policy finance-hwk/);
    expect((await gatehouse(['ip', 'block', '198.51.100.0/24', '--reason', 'process test'])).code).toBe(0);
    await expect.poll(() => fx.gatehouse.access.ipBlocks.isBlocked('198.51.100.7'), { timeout: 5000 }).toBe(true);
  });

  it('domain and dns: names piped on standard input; a runtime block listed', async () => {
    const piped = await gatehouse(['domain', 'check', '--offline'], 'acme-okta.com\nwikipedia.org\n');
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(/^BLOCK acme-okta\.com/m);
    expect(piped.stderr).toContain('2 checked, 1 flagged');
    expect((await gatehouse(['domain', 'block', 'kit.example', '--reason', 'process test'])).code).toBe(0);
    expect(JSON.parse((await gatehouse(['dns', 'lists', '--json'])).stdout)).toMatchObject({ runtimeBlocks: [{ name: 'kit.example' }] });
  });

  it('audit, incident and hunt: the chain verifies across writers; read-only commands exit 0', async () => {
    const verify = await gatehouse(['audit', 'verify', '--json']);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const [incidents, hunt] = await Promise.all([gatehouse(['incident', 'list', '--json']), gatehouse(['hunt', 'new-admins', '--json'])]);
    expect(incidents).toMatchObject({ code: 0 });
    expect(JSON.parse(incidents.stdout)).toEqual([]);
    expect(hunt).toMatchObject({ code: 0 });
    expect(JSON.parse(hunt.stdout)).toMatchObject({ hunt: 'new-admins' });
  });
});
