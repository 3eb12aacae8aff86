/** The CLI as a separate process against the same database as a running server. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function gatehouse(args: string[], configPath?: string) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), ...(configPath ? ['--config', configPath] : []), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let fx: GatehouseFixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

describe('gatehouse CLI', () => {
  it('config check: valid is exit 0; invalid is exit 2 and names the path', () => {
    expect(gatehouse(['config', 'check', fx.configPath])).toMatchObject({ code: 0 });
    const bad = join(fx.dir, 'bad.yaml');
    writeFileSync(bad, 'server:\n  portal_host: x\n  http: { port: "eighty" }\nwebauthn: { rp_id: x.localhost, origins: [] }\n');
    const result = gatehouse(['config', 'check', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('server.http.port:');
    expect(result.stderr).toContain('webauthn.origins:');
  });

  it('user invite prints a one-time link; list and show in JSON', () => {
    const invite = gatehouse(['user', 'invite', 'cli-user@acme.test', '--group', 'staff', '--json'], fx.configPath);
    expect(invite.code).toBe(0);
    const { url } = JSON.parse(invite.stdout) as { url: string };
    expect(url).toMatch(new RegExp(`^${fx.portalOrigin}/enroll\\?token=[A-Za-z0-9_-]{43}$`));
    const list = JSON.parse(gatehouse(['user', 'list', '--json'], fx.configPath).stdout) as { email: string; groups: string[] }[];
    expect(list.find((u) => u.email === 'cli-user@acme.test')?.groups).toEqual(['staff']);
    expect(gatehouse(['user', 'show', 'cli-user@acme.test'], fx.configPath).stdout).toContain('groups: staff');
  });

  it('clear errors and non-zero exits for bad usage and unknown users', () => {
    const unknown = gatehouse(['user', 'show', 'ghost@acme.test'], fx.configPath);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/user ghost@acme.test was not found.*user_not_found/);
    const usage = gatehouse(['sessions', 'revoke'], fx.configPath);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give exactly one of');
    expect(gatehouse(['user', 'add', 'not-an-email'], fx.configPath)).toMatchObject({ code: 2 });
    expect(gatehouse(['no-such-command'], fx.configPath).code).toBe(2);
    expect(gatehouse(['user', 'list'], join(fx.dir, 'missing.yaml')).stderr).toContain('no configuration at');
  });

  it('a session revoked from the CLI process is refused by the running server', async () => {
    const { identity } = fx.gatehouse.core;
    const user = await identity.users.add({ email: 'revoke-me@acme.test' });
    const { token } = await identity.sessions.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.7', userAgent: 'test' });
    expect(await identity.sessions.validate(token)).toBeDefined(); // cached in the server now
    const listed = JSON.parse(gatehouse(['sessions', 'list', '--user', 'revoke-me@acme.test', '--json'], fx.configPath).stdout) as { handle: string }[];
    expect(listed).toHaveLength(1);
    const revoked = gatehouse(['sessions', 'revoke', listed[0]!.handle], fx.configPath);
    expect(revoked).toMatchObject({ code: 0, stdout: '1 session(s) revoked\n' });
    await expect.poll(() => identity.sessions.validate(token), { timeout: 5000 }).toBeUndefined();
    const page = await fx.gatehouse.inject({ method: 'GET', url: '/account', headers: { host: fx.portalHost, cookie: `gatehouse_session=${token}` } });
    expect(page.statusCode).toBe(303);
  });

  it('user disable ends every session of the user', async () => {
    const { identity } = fx.gatehouse.core;
    const user = await identity.users.add({ email: 'leaver@acme.test' });
    const { token } = await identity.sessions.issue({ userId: user.id, amr: ['swk'], phishingResistant: true, ip: '192.0.2.8', userAgent: 'test' });
    const result = gatehouse(['user', 'disable', 'leaver@acme.test', '--json'], fx.configPath);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'disabled', sessionsRevoked: 1 });
    await expect.poll(() => identity.sessions.validate(token), { timeout: 5000 }).toBeUndefined();
  });
});
