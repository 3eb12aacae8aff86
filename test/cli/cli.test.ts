/** The CLI's behaviour, run in-process against the same database as a running server. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (args: string[], configPath?: string) => runGatehouse(args, configPath ? { config: configPath } : {});

beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

describe('gatehouse CLI', () => {
  it('config check: valid is exit 0; invalid is exit 2 and names the path', async () => {
    expect(await gatehouse(['config', 'check', fx.configPath])).toMatchObject({ code: 0 });
    const bad = join(fx.dir, 'bad.yaml');
    writeFileSync(bad, 'server:\n  portal_host: x\n  http: { port: "eighty" }\nwebauthn: { rp_id: x.localhost, origins: [] }\n');
    const result = await gatehouse(['config', 'check', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('server.http.port:');
    expect(result.stderr).toContain('webauthn.origins:');
  });

  it('user invite prints a one-time link; list and show in JSON', async () => {
    const invite = await gatehouse(['user', 'invite', 'cli-user@acme.test', '--group', 'staff', '--json'], fx.configPath);
    expect(invite.code).toBe(0);
    const { url } = JSON.parse(invite.stdout) as { url: string };
    expect(url).toMatch(new RegExp(`^${fx.portalOrigin}/enroll\\?token=[A-Za-z0-9_-]{43}$`));
    const list = JSON.parse((await gatehouse(['user', 'list', '--json'], fx.configPath)).stdout) as { email: string; groups: string[] }[];
    expect(list.find((u) => u.email === 'cli-user@acme.test')?.groups).toEqual(['staff']);
    expect((await gatehouse(['user', 'show', 'cli-user@acme.test'], fx.configPath)).stdout).toContain('groups: staff');
  });

  it('clear errors and non-zero exits for bad usage and unknown users', async () => {
    const unknown = await gatehouse(['user', 'show', 'ghost@acme.test'], fx.configPath);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/user ghost@acme.test was not found.*user_not_found/);
    const usage = await gatehouse(['sessions', 'revoke'], fx.configPath);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give exactly one of');
    expect(await gatehouse(['user', 'add', 'not-an-email'], fx.configPath)).toMatchObject({ code: 2 });
    const unknownCommand = await gatehouse(['no-such-command'], fx.configPath);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'no-such-command'");
    const noConfig = await gatehouse(['user', 'list'], join(fx.dir, 'missing.yaml'));
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toContain('no configuration at');
    expect(noConfig.stderr).toContain('[config_missing]');
  });

  it('help is exit 0 on stdout; a missing argument is exit 2 on stderr', async () => {
    const help = await gatehouse(['user', '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('invite');
    const missing = await gatehouse(['user', 'show'], fx.configPath);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'user'");
  });

  it('the config path comes from --config, else $GATEHOUSE_CONFIG, relative to the working folder', async () => {
    expect(await runGatehouse(['user', 'list', '--json'], { env: { GATEHOUSE_CONFIG: fx.configPath } })).toMatchObject({ code: 0 });
    const missing = await runGatehouse(['user', 'list'], { cwd: join(fx.dir, 'data') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`no configuration at ${join(fx.dir, 'data', 'gatehouse.yaml')}`);
  });

  it('a session revoked from the CLI is refused by the running server', async () => {
    const { identity } = fx.gatehouse.core;
    const user = await identity.users.add({ email: 'revoke-me@acme.test' });
    const { token } = await identity.sessions.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.7', userAgent: 'test' });
    expect(await identity.sessions.validate(token)).toBeDefined(); // cached in the server now
    const listed = JSON.parse((await gatehouse(['sessions', 'list', '--user', 'revoke-me@acme.test', '--json'], fx.configPath)).stdout) as { handle: string }[];
    expect(listed).toHaveLength(1);
    const revoked = await gatehouse(['sessions', 'revoke', listed[0]!.handle], fx.configPath);
    expect(revoked).toMatchObject({ code: 0, stdout: '1 session(s) revoked\n' });
    await expect.poll(() => identity.sessions.validate(token), { timeout: 5000 }).toBeUndefined();
    const page = await fx.gatehouse.inject({ method: 'GET', url: '/account', headers: { host: fx.portalHost, cookie: `gatehouse_session=${token}` } });
    expect(page.statusCode).toBe(303);
  });

  it('user group add/remove: JSON output, audited with the actor, seen by the running server; unknown user 1, missing args 2', async () => {
    const { identity } = fx.gatehouse.core;
    const user = await identity.users.add({ email: 'grouped@acme.test', groups: ['staff'] });
    const { token } = await identity.sessions.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.9', userAgent: 'test' });
    expect((await identity.sessions.validate(token))?.groups).toEqual(['staff']); // cached in the server now

    const added = await gatehouse(['user', 'group', 'add', 'grouped@acme.test', 'admins', 'oncall', '--json'], fx.configPath);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({ email: 'grouped@acme.test', groups: ['admins', 'oncall', 'staff'], changed: ['admins', 'oncall'] });
    await expect.poll(async () => (await identity.sessions.validate(token))?.groups, { timeout: 5000 }).toEqual(['admins', 'oncall', 'staff']);

    const removed = await gatehouse(['user', 'group', 'remove', 'grouped@acme.test', 'admins'], fx.configPath);
    expect(removed).toMatchObject({ code: 0, stdout: 'grouped@acme.test: removed from admins; groups now oncall, staff\n' });
    await expect.poll(async () => (await identity.sessions.validate(token))?.groups, { timeout: 5000 }).toEqual(['oncall', 'staff']);
    const again = await gatehouse(['user', 'group', 'remove', 'grouped@acme.test', 'admins', '--json'], fx.configPath);
    expect(JSON.parse(again.stdout)).toMatchObject({ changed: [] });

    const [addEvent] = await fx.gatehouse.core.audit.list({ type: 'user.group_added', userId: user.id });
    expect(addEvent).toMatchObject({ actor: 'cli', detail: { groups: ['admins', 'oncall'] } });
    const removals = await fx.gatehouse.core.audit.list({ type: 'user.group_removed', userId: user.id });
    expect(removals).toHaveLength(1);
    expect(removals[0]).toMatchObject({ actor: 'cli', detail: { groups: ['admins'] } });

    const unknown = await gatehouse(['user', 'group', 'add', 'ghost@acme.test', 'admins'], fx.configPath);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('user_not_found');
    const missing = await gatehouse(['user', 'group', 'remove', 'grouped@acme.test'], fx.configPath);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'groups'");
    expect((await gatehouse(['user', 'group', 'add', 'grouped@acme.test', 'bad group'], fx.configPath)).code).toBe(2);
  });

  it('user disable ends every session of the user', async () => {
    const { identity } = fx.gatehouse.core;
    const user = await identity.users.add({ email: 'leaver@acme.test' });
    const { token } = await identity.sessions.issue({ userId: user.id, amr: ['swk'], phishingResistant: true, ip: '192.0.2.8', userAgent: 'test' });
    const result = await gatehouse(['user', 'disable', 'leaver@acme.test', '--json'], fx.configPath);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'disabled', sessionsRevoked: 1 });
    await expect.poll(() => identity.sessions.validate(token), { timeout: 5000 }).toBeUndefined();
  });
});
