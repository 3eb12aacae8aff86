/**
 * `campaign start` with a rotator from the `rotators:` config section, against a private PostgreSQL
 * cluster that checks passwords (the shared server trusts every local login, so a probe there is
 * inconclusive by design and the rotator refuses it).
 */
import { postgresLogin as loginAnswer } from '../../src/credentials/rotation/test-support/private-postgres.js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres } from '../../src/credentials/rotation/test-support/private-postgres.js';
import { cryptoRandom, randomToken } from '../../src/lib/random.js';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let cluster: PrivatePostgres | undefined;
{
  const started = await startPrivatePostgres();
  if (typeof started === 'string') {
    if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: a password-checking PostgreSQL (${started})`);
    process.stderr.write(`\n[SKIPPED] campaign rotation through configured rotators: ${started}\n`);
  } else cluster = started;
}


it('config check accepts a rotators: section and prints none of its values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rotators-check-'));
  try {
    const password = 'Zq8xW2mK9pLr4TvB7nYc3Hs';
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      `server: { portal_host: sso.acme.localhost, http: { port: 8080 } }
webauthn: { rp_id: acme.localhost, origins: ["http://sso.acme.localhost:8080"] }
rotators:
  pg-main:
    type: postgres-role
    admin_url: postgres://rotator@db.internal:5432/postgres
    admin_password: ${password}
    sink: { type: directory, path: secrets }
`,
    );
    const ok = await runGatehouse(['config', 'check', 'gatehouse.yaml', '--json'], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(`${ok.stdout}${ok.stderr}`).not.toContain(password);
    writeFileSync(join(dir, 'bad.yaml'), readFileSync(join(dir, 'gatehouse.yaml'), 'utf8').replace('rotator@db', `rotator:${password}@db`));
    const bad = await runGatehouse(['config', 'check', 'bad.yaml'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('rotators["pg-main"].admin_url: must be a postgres:// URL with a host and no password');
    expect(`${bad.stdout}${bad.stderr}`).not.toContain(password);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe.runIf(cluster !== undefined)('campaign start with rotators from the config file', () => {
  const server = cluster as PrivatePostgres;
  const oldPassword = randomToken(cryptoRandom, 24);
  let fx: GatehouseFixture;
  const gatehouse = (args: string[]) => runGatehouse(args, { config: fx.configPath, cwd: fx.dir });

  beforeAll(async () => {
    fx = await startFixture({
      extraYaml: `rotators:
  pg-main:
    type: postgres-role
    admin_url: "${server.adminUrl}"
    admin_password_file: pg-admin.password
    probe_url: ${server.probeUrl}
    sink: { type: directory, path: billing-secrets }
`,
    });
    // The admin channel is the Unix socket with trust: the password file is read and passed, and ignored.
    writeFileSync(join(fx.dir, 'pg-admin.password'), 'not-used-over-trust\n', { mode: 0o600 });
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    await admin.query(`CREATE ROLE billing_svc LOGIN PASSWORD ${pg.escapeLiteral(oldPassword)}`);
    await admin.end();
    // The secret in use, where the billing service reads it: the probe presents it after the change.
    mkdirSync(join(fx.dir, 'billing-secrets'), { mode: 0o700 });
    writeFileSync(join(fx.dir, 'billing-secrets', 'billing-db.secret'), `${oldPassword}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await fx?.close();
    await server.stop();
  });

  it('an item naming an unconfigured rotator: a warning at add, and campaign start refuses naming it', async () => {
    const add = await gatehouse(['inventory', 'add', 'legacy-db', '--kind', 'database_role', '--system', 'legacy', '--owner', 'dba@acme.test', '--rotator', 'pg-mian', '--locator', '{"role":"legacy_svc"}']);
    expect(add.code).toBe(0);
    expect(add.stderr).toContain('warning: legacy-db: rotator "pg-mian" is not configured');
    expect(add.stderr).toContain('configured: pg-main');
    const bad = await gatehouse(['inventory', 'add', 'bad-locator', '--kind', 'database_role', '--system', 'legacy', '--owner', 'dba@acme.test', '--rotator', 'pg-main', '--locator', '{"host":"db"}']);
    expect(bad.code).toBe(0);

    const refused = await gatehouse(['campaign', 'start', '--reason', 'vendor breach', '--scope', 'system=legacy']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('[campaign_rotation_targets_invalid]');
    expect(refused.stderr).toContain('legacy-db: rotator "pg-mian" is not configured (configured: pg-main)');
    expect(refused.stderr).toContain('bad-locator: rotator pg-main: locator.role is required');
    expect(JSON.parse((await gatehouse(['campaign', 'list', '--json'])).stdout)).toEqual([]);

    const allowed = await gatehouse(['campaign', 'start', '--reason', 'vendor breach', '--scope', 'system=legacy', '--allow-invalid-targets', '--json']);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('warning: legacy-db: rotator "pg-mian" is not configured');
    expect((JSON.parse(allowed.stdout) as { counts: Record<string, number> }).counts).toEqual({ owner_task: 1, failed: 1 });
    for (const name of ['legacy-db', 'bad-locator']) expect((await gatehouse(['inventory', 'retire', name])).code).toBe(0);
  });

  it('rotates a PostgreSQL role through pg-main: evidence old_credential_refused, the new password only in its 0600 file', async () => {
    const add = await gatehouse(['inventory', 'add', 'billing-db', '--kind', 'database_role', '--system', 'billing', '--owner', 'dba@acme.test', '--rotator', 'pg-main', '--locator', '{"role":"billing_svc"}']);
    expect(add.code).toBe(0);
    expect(add.stderr).toBe('');

    const started = await gatehouse(['campaign', 'start', '--reason', 'vendor breach', '--scope', 'system=billing', '--json']);
    expect(started.stderr).not.toContain('warning');
    expect(started.code).toBe(0);
    const result = JSON.parse(started.stdout) as { campaign: string; counts: Record<string, number> };
    expect(result.counts).toEqual({ done: 1 });

    const file = join(fx.dir, 'billing-secrets', 'billing-db.secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(fx.dir, 'billing-secrets'))).toEqual(['billing-db.secret']);
    const newPassword = readFileSync(file, 'utf8');
    expect(newPassword).not.toBe(oldPassword);
    expect(newPassword.length).toBeGreaterThanOrEqual(43);
    // The real server agrees, independently of the rotator.
    expect(await loginAnswer(server.probeUrl, 'billing_svc', oldPassword)).toBe('28P01');
    expect(await loginAnswer(server.probeUrl, 'billing_svc', newPassword)).toBe('ok');

    const report = await gatehouse(['campaign', 'report', result.campaign, '--format', 'json']);
    const item = (JSON.parse(report.stdout) as { items: { name: string; endState: string; evidence: { kind: string; detail: Record<string, unknown> }; deliveredTo: string }[] }).items.find((i) => i.name === 'billing-db');
    expect(item).toMatchObject({ endState: 'rotated', evidence: { kind: 'old_credential_refused' } });
    expect(String(item?.evidence.detail.answer)).toMatch(/^28P01 /);
    expect((await gatehouse(['campaign', 'close', result.campaign])).code).toBe(0);

    const audit = await gatehouse(['audit', 'query']);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toContain('campaign.item_closed');
    const database = ['gatehouse.db', 'gatehouse.db-wal'].filter((name) => existsSync(join(fx.dir, name))).map((name) => readFileSync(join(fx.dir, name)).toString('latin1'));
    for (const text of [started.stdout, started.stderr, report.stdout, audit.stdout, ...database]) {
      expect(text.includes(newPassword)).toBe(false);
      expect(text.includes(oldPassword)).toBe(false);
    }
    // Nor in the server's statement log: ALTER ROLE carried a SCRAM verifier.
    expect(server.log().includes(newPassword)).toBe(false);
  });
});
