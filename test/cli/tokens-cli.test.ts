/** `gatehouse tokens …` in-process against a running server's database. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (args: string[]) => runGatehouse(args, { config: fx.configPath });

beforeAll(async () => {
  fx = await startFixture({
    extraYaml: `apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: everyone, action: allow, include: [{ everyone: true }] }
service_tokens:
  max_ttl_days: 180
`,
  });
});
afterAll(() => fx.close());

it('create prints the secret once with a warning; list and show never print it', async () => {
  const created = await gatehouse(['tokens', 'create', 'ci-deploy', '--owner', 'build@acme.test', '--app', 'payroll', '--tag', 'ci', '--expires-in', '30d']);
  expect(created.code).toBe(0);
  const secret = /Gatehouse-Client-Secret: (gh-secret-[A-Za-z0-9_-]{43})/.exec(created.stdout)?.[1];
  expect(secret).toBeDefined();
  expect(created.stdout).toMatch(/Gatehouse-Client-Id: {5}gh-svc-[A-Za-z0-9_-]{22}/);
  expect(created.stderr).toContain('shown only now');
  const list = await gatehouse(['tokens', 'list']);
  expect(list.stdout).toContain('ci-deploy');
  expect(list.stdout).toMatch(/LASTUSEDAT/);
  const shown = await gatehouse(['tokens', 'show', 'ci-deploy', '--json']);
  for (const output of [list.stdout, shown.stdout]) expect(output).not.toContain(secret!.slice(10));
  expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'ci-deploy', owner: 'build@acme.test', status: 'active', apps: ['payroll'], tags: ['ci'], lastUsedAt: null });
});

it('list shows last use (time, address, app) and expiry as JSON', async () => {
  const created = JSON.parse((await gatehouse(['tokens', 'create', 'nightly', '--owner', 'ops@acme.test', '--app', 'payroll', '--json'])).stdout) as { clientId: string; secret: string; warning: string };
  expect(created.warning).toContain('shown only now');
  const { createServiceTokens, serviceTokenSettingsOf } = await import('../../src/credentials/index.js');
  const core = fx.gatehouse.core;
  const tokens = createServiceTokens({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) });
  await tokens.load();
  expect(tokens.verify({ clientId: created.clientId, secret: created.secret, app: 'payroll', now: Date.now() }).ok).toBe(true);
  tokens.recordUse({ clientId: created.clientId, at: Date.UTC(2026, 11, 7, 10, 0, 0), clientAddress: '198.51.100.4', app: 'payroll', userAgent: 'deploy-bot' });
  await tokens.stop();
  const rows = JSON.parse((await gatehouse(['tokens', 'list', '--json'])).stdout) as Record<string, unknown>[];
  expect(rows.find((r) => r.name === 'nightly')).toMatchObject({ lastUsedAt: '2026-12-07T10:00:00Z', lastUsedIp: '198.51.100.4', lastUsedApp: 'payroll', expiresAt: expect.stringMatching(/Z$/) });
  expect((await gatehouse(['tokens', 'show', 'nightly'])).stdout).toContain('198.51.100.0/24');
});

it('refuses bad flags with clear errors: lifetime over the maximum names it, unknown app, bad duration', async () => {
  const tooLong = await gatehouse(['tokens', 'create', 'long', '--owner', 'a@acme.test', '--app', 'payroll', '--expires-in', '400d']);
  expect(tooLong.code).toBe(2);
  expect(tooLong.stderr).toContain('maximum of 180 days (service_tokens.max_ttl_days)');
  expect(tooLong.stderr).toContain('[service_token_ttl_too_long]');
  const unknownApp = await gatehouse(['tokens', 'create', 'x', '--owner', 'a@acme.test', '--app', 'wiki']);
  expect(unknownApp).toMatchObject({ code: 2 });
  expect(unknownApp.stderr).toContain('--app wiki');
  const badDuration = await gatehouse(['tokens', 'create', 'x', '--owner', 'a@acme.test', '--app', 'payroll', '--expires-in', 'forever']);
  expect(badDuration.code).toBe(2);
  expect(badDuration.stderr).toContain('--expires-in "forever"');
  const both = await gatehouse(['tokens', 'rotate', 'ci-deploy', '--overlap', '1h', '--emergency']);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('exactly one of --overlap');
  expect(await gatehouse(['tokens', 'show', 'ghost'])).toMatchObject({ code: 1, stderr: expect.stringContaining('service_token_not_found') });
});

it('rotate, suspend, resume, revoke; resume after revoke is refused', async () => {
  const overlap = await gatehouse(['tokens', 'rotate', 'ci-deploy', '--overlap', '24h']);
  expect(overlap.code).toBe(0);
  expect(overlap.stdout).toContain('The old secret works until');
  expect(overlap.stdout).toMatch(/Gatehouse-Client-Secret: gh-secret-/);
  const emergency = JSON.parse((await gatehouse(['tokens', 'rotate', 'ci-deploy', '--emergency', '--json'])).stdout) as Record<string, unknown>;
  expect(emergency.previousSecretValidUntil).toBeNull();
  expect((await gatehouse(['tokens', 'suspend', 'ci-deploy', '--reason', 'check'])).stdout).toBe('ci-deploy: suspended\n');
  expect((await gatehouse(['tokens', 'resume', 'ci-deploy'])).stdout).toBe('ci-deploy: active\n');
  expect((await gatehouse(['tokens', 'revoke', 'ci-deploy', '--reason', 'leaked'])).stdout).toBe('ci-deploy: revoked\n');
  expect((await gatehouse(['tokens', 'mark-unused', 'nightly'])).stdout).toContain('marked believed unused');
  expect(JSON.parse((await gatehouse(['tokens', 'show', 'nightly', '--json'])).stdout)).toMatchObject({ believedUnused: true, status: 'active' });
  const resumed = await gatehouse(['tokens', 'resume', 'ci-deploy']);
  expect(resumed.code).toBe(1);
  expect(resumed.stderr).toContain('[service_token_revoked_final]');
});

it('as a real process: the exit status says whether the command worked', async () => {
  const { runGatehouseProcess } = await import('../support/cli.js');
  const created = await runGatehouseProcess(['--config', fx.configPath, 'tokens', 'create', 'process-made', '--owner', 'p@acme.test', '--app', 'payroll', '--json']);
  expect(created.code).toBe(0);
  expect(JSON.parse(created.stdout)).toMatchObject({ name: 'process-made', secret: expect.stringMatching(/^gh-secret-/) });
  const missing = await runGatehouseProcess(['--config', fx.configPath, 'tokens', 'show', 'ghost']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('[service_token_not_found]');
});
