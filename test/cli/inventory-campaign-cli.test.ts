/** `gatehouse inventory …` and `gatehouse campaign …` in-process against a running server's database. */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (args: string[]) => runGatehouse(args, { config: fx.configPath, cwd: fx.dir });

beforeAll(async () => {
  fx = await startFixture({
    extraYaml: `apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: everyone, action: allow, include: [{ everyone: true }] }
`,
  });
});
afterAll(() => fx.close());

const HEADER = 'name,kind,system,owner,rotator,locator,believed_unused';

it('import is strict (line and column named, nothing written) and idempotent; list shows Gatehouse’s own credentials live', async () => {
  writeFileSync(join(fx.dir, 'bad.csv'), `${HEADER}\nwiki-bot,service_account,wiki,wiki@acme.test,,,\nbroken,robot,wiki,wiki@acme.test,,,\n`);
  const bad = await gatehouse(['inventory', 'import', 'bad.csv']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('line 3, column "kind": "robot" is not one of');
  expect(bad.stderr).toContain('[inventory_import_invalid]');
  expect(JSON.parse((await gatehouse(['inventory', 'list', '--external', '--json'])).stdout)).toEqual([]);

  writeFileSync(join(fx.dir, 'good.csv'), `${HEADER}\nwiki-bot,service_account,wiki,wiki@acme.test,,,\n<script>x</script>,other,ticketing,it@acme.test,,,\n`);
  expect((await gatehouse(['inventory', 'import', 'good.csv'])).stdout).toContain('2 added, 0 updated, 0 unchanged');
  expect((await gatehouse(['inventory', 'import', 'good.csv'])).stdout).toContain('0 added, 0 updated, 2 unchanged');

  const secretLocator = await gatehouse(['inventory', 'add', 'db-svc', '--kind', 'database_role', '--system', 'billing', '--owner', 'dba@acme.test', '--locator', '{"dsn":"postgres://svc:hunter2@db/billing"}']);
  expect(secretLocator.code).toBe(2);
  expect(secretLocator.stderr).toContain('[inventory_locator_secret]');
  expect(secretLocator.stderr).not.toContain('hunter2');

  expect((await gatehouse(['tokens', 'create', 'ci-deploy', '--owner', 'build@acme.test', '--app', 'payroll'])).code).toBe(0);
  const all = JSON.parse((await gatehouse(['inventory', 'list', '--json'])).stdout) as { name: string; source: string }[];
  expect(all).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ name: 'ci-deploy', source: 'service_token' }),
      expect.objectContaining({ source: 'key_encryption_key' }),
      expect.objectContaining({ name: 'wiki-bot', source: 'inventory' }),
    ]),
  );
});

it('a campaign rotates the token into a 0600 file, leaves external items open, refuses to close naming them, and escapes its report', async () => {
  const started = await gatehouse(['campaign', 'start', '--reason', 'vendor breach', '--emergency', '--deliver-dir', 'secrets', '--json']);
  expect(started.code).toBe(0);
  const result = JSON.parse(started.stdout) as { campaign: string; items: number; ownerTasks: { item: string }[]; counts: Record<string, number> };
  expect(result.items).toBe(3);
  expect(result.counts).toEqual({ done: 1, owner_task: 2 });
  expect(started.stderr).toMatch(/1\/3 done · 0 failed · 0 waiting · 2 owner tasks/);
  expect(started.stderr).not.toContain('\r');
  const files = readdirSync(join(fx.dir, 'secrets'));
  expect(files).toEqual(['ci-deploy.secret']);
  expect(statSync(join(fx.dir, 'secrets', files[0]!)).mode & 0o777).toBe(0o600);
  expect(readFileSync(join(fx.dir, 'secrets', files[0]!), 'utf8')).toMatch(/^gh-svc-.+\ngh-secret-.+\n$/);

  const close = await gatehouse(['campaign', 'close', result.campaign]);
  expect(close.code).toBe(1);
  expect(close.stderr).toContain('[campaign_items_without_evidence]');
  expect(close.stderr).toContain('wiki-bot (owner_task');

  const status = JSON.parse((await gatehouse(['campaign', 'status', result.campaign, '--json'])).stdout) as Record<string, unknown>;
  expect(status).toMatchObject({ total: 3, byState: { done: 1, owner_task: 2 }, byEndState: { rotated: 1 } });

  // Without incident.smtp the links are printed for the operator; attestations are made in the portal.
  expect(result.ownerTasks).toEqual(expect.arrayContaining([expect.objectContaining({ item: 'wiki-bot', notNotified: 'no notifier is configured', link: expect.stringMatching(/\/campaigns\/tasks\/[A-Za-z0-9_-]{43}$/) })]));
  const attest = await gatehouse(['campaign', 'attest', result.campaign]);
  expect(attest.code).toBe(0);
  expect(attest.stdout).toContain(`/campaigns/${result.campaign}/approvals`);
  expect(attest.stdout).toContain('wiki-bot');
  // A flag naming a person is gone: one operator cannot attest as two admins.
  const flagged = await gatehouse(['campaign', 'attest', result.campaign, 'wiki-bot', '--as', 'alice@acme.test', '--statement', 'rotated by hand']);
  expect(flagged.code).not.toBe(0);
  expect(await fx.gatehouse.core.store.db.selectFrom('campaign_attestations').selectAll().execute()).toEqual([]);

  const html = await gatehouse(['campaign', 'report', result.campaign, '--format', 'html']);
  expect(html.stdout).toContain('&#60;script&#62;x&#60;/script&#62;');
  expect(html.stdout).not.toContain('<script>x');
  const json = JSON.parse((await gatehouse(['campaign', 'report', result.campaign, '--format', 'json'])).stdout) as { items: { name: string; evidence: unknown }[] };
  expect(json.items.find((i) => i.name === 'ci-deploy')?.evidence).toMatchObject({ kind: 'old_credential_refused' });
  expect(JSON.stringify(json)).not.toContain('gh-secret-');
});

it('campaign report --out: written 0600 by rename; a symlink planted at the path is refused and its target untouched', async () => {
  const started = JSON.parse((await gatehouse(['campaign', 'start', '--reason', 'report drill', '--scope', 'system=ticketing', '--json'])).stdout) as { campaign: string };
  const reports = join(fx.dir, 'reports');
  mkdirSync(reports, { mode: 0o755 });

  const written = await gatehouse(['campaign', 'report', started.campaign, '--out', 'reports/report.json']);
  expect(written.code, written.stderr).toBe(0);
  expect(statSync(join(reports, 'report.json')).mode & 0o777).toBe(0o600);
  expect(JSON.parse(readFileSync(join(reports, 'report.json'), 'utf8'))).toMatchObject({ campaign: { id: started.campaign } });

  const victim = join(fx.dir, 'victim.conf');
  writeFileSync(victim, 'PermitRootLogin no\n', { mode: 0o644 });
  symlinkSync(victim, join(reports, 'linked.html'));
  const refused = await gatehouse(['campaign', 'report', started.campaign, '--format', 'html', '--out', 'reports/linked.html']);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('[report_target_not_a_file]');
  expect(readFileSync(victim, 'utf8')).toBe('PermitRootLogin no\n');
  expect(statSync(victim).mode & 0o777).toBe(0o644);
  expect(readlinkSync(join(reports, 'linked.html'))).toBe(victim);
  expect(lstatSync(join(reports, 'linked.html')).isSymbolicLink()).toBe(true);
  // No temporary file left beside it.
  expect(readdirSync(reports).sort()).toEqual(['linked.html', 'report.json']);
});

it('as a real process: a refused close exits 1 and names its code; campaign status works on its own connection', async () => {
  const { runGatehouseProcess } = await import('../support/cli.js');
  const started = JSON.parse((await gatehouse(['campaign', 'start', '--reason', 'process drill', '--scope', 'system=ticketing', '--json'])).stdout) as { campaign: string };
  const close = await runGatehouseProcess(['--config', fx.configPath, 'campaign', 'close', started.campaign]);
  expect(close.code).toBe(1);
  expect(close.stderr).toContain('[campaign_items_without_evidence]');
  const status = await runGatehouseProcess(['--config', fx.configPath, 'campaign', 'status', started.campaign]);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain('1 owner_task');
});
