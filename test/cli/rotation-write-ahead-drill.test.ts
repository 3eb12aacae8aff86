/**
 * The write-ahead of a rotation, as real processes: `gatehouse campaign start` rotates a PostgreSQL
 * role (a private cluster that checks passwords) and is killed with SIGKILL after ALTER ROLE, while its
 * exec sink is delivering. The new password then exists only on the server and in Gatehouse's staging
 * folder. `campaign resume` must deliver that staged password, never make a third one, and close the
 * item on evidence; no password may reach the report, the audit log or the database.
 */
import { postgresLogin as loginAnswer } from '../../src/credentials/rotation/test-support/private-postgres.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres } from '../../src/credentials/rotation/test-support/private-postgres.js';
import { cryptoRandom, randomToken } from '../../src/lib/random.js';
import { runGatehouse } from '../support/cli.js';
import { fixtureConfigYaml } from '../support/gatehouse-fixture.js';
import { builtCli } from '../support/paths.js';

let cluster: PrivatePostgres | undefined;
{
  const started = await startPrivatePostgres();
  if (typeof started === 'string') {
    if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: a password-checking PostgreSQL (${started})`);
    process.stderr.write(`\n[SKIPPED] rotation write-ahead drill: ${started}\n`);
  } else cluster = started;
}


async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1200; i += 1) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Delivers by writing the service's file; while `hang` exists it marks `reached` and waits instead (the crash point). */
const DELIVER = `#!/bin/sh
if [ -e "$1/hang" ]; then echo $$ > "$1/reached"; exec sleep 120; fi
cat > "$1/service/billing.secret.tmp" && mv "$1/service/billing.secret.tmp" "$1/service/billing.secret" && echo "file:$1/service/billing.secret"
`;

it.runIf(cluster !== undefined)('kill -9 between ALTER ROLE and the delivery: resume delivers the staged password and closes on evidence', { timeout: 120_000 }, async () => {
  const server = cluster as PrivatePostgres;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-write-ahead-drill-'));
  let sleeper: number | undefined;
  try {
    const old = randomToken(cryptoRandom, 24);
    const admin = new pg.Client({ connectionString: server.adminUrl });
    await admin.connect();
    await admin.query(`CREATE ROLE billing_svc LOGIN PASSWORD ${pg.escapeLiteral(old)}`);
    await admin.end();
    mkdirSync(join(dir, 'service'), { mode: 0o700 });
    writeFileSync(join(dir, 'service', 'billing.secret'), old, { mode: 0o600 });
    writeFileSync(join(dir, 'deliver.sh'), DELIVER, { mode: 0o755 });
    writeFileSync(join(dir, 'previous.sh'), `#!/bin/sh\ncat "$1/service/billing.secret"\n`, { mode: 0o755 });
    writeFileSync(join(dir, 'hang'), '');
    const configPath = join(dir, 'gatehouse.yaml');
    writeFileSync(
      configPath,
      fixtureConfigYaml({
        port: 8080,
        dir,
        extraYaml: `rotators:
  pg-main:
    type: postgres-role
    admin_url: "${server.adminUrl}"
    probe_url: ${server.probeUrl}
    sink:
      type: exec
      deliver: { argv: ${JSON.stringify([join(dir, 'deliver.sh'), dir])}, timeout_ms: 150000 }
      read_previous: { argv: ${JSON.stringify([join(dir, 'previous.sh'), dir])} }
      staging_dir: staging
`,
      }),
    );
    const gatehouse = (args: string[]) => runGatehouse(args, { config: configPath, cwd: dir });
    expect((await gatehouse(['inventory', 'add', 'billing-db', '--kind', 'database_role', '--system', 'billing', '--owner', 'dba@acme.test', '--rotator', 'pg-main', '--locator', '{"role":"billing_svc"}'])).code).toBe(0);

    const first = spawn(process.execPath, [builtCli(), '--config', configPath, 'campaign', 'start', '--reason', 'write-ahead drill', '--scope', 'system=billing', '--json'], {
      cwd: dir,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let firstErr = '';
    first.stderr.setEncoding('utf8').on('data', (chunk: string) => (firstErr += chunk));
    first.stdout.resume();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    sleeper = await until('the delivery to start', () => {
      if (first.exitCode !== null) throw new Error(`campaign start exited (${first.exitCode}) before delivering: ${firstErr}`);
      return existsSync(join(dir, 'reached')) ? Number(readFileSync(join(dir, 'reached'), 'utf8')) || undefined : undefined;
    });
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const campaign = /campaign ([0-9a-f-]{36}):/.exec(firstErr)?.[1];
    expect(campaign, firstErr).toBeDefined();

    // What the crash left: the role changed, the service holds the old password, Gatehouse's staging the new one.
    const staged = readdirSync(join(dir, 'staging'));
    expect(staged).toHaveLength(1);
    const stagedFile = join(dir, 'staging', staged[0]!);
    expect(statSync(stagedFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(stagedFile, 'utf8');
    expect(readFileSync(join(dir, 'service', 'billing.secret'), 'utf8')).toBe(old);
    expect(await loginAnswer(server.probeUrl, 'billing_svc', old)).toBe('28P01');
    expect(await loginAnswer(server.probeUrl, 'billing_svc', password)).toBe('ok');

    rmSync(join(dir, 'hang'));
    const resumed = await gatehouse(['campaign', 'resume', campaign!, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((JSON.parse(resumed.stdout) as { counts: Record<string, number> }).counts).toEqual({ done: 1 });
    expect(readFileSync(join(dir, 'service', 'billing.secret'), 'utf8')).toBe(password);
    expect(readdirSync(join(dir, 'staging'))).toEqual([]);
    expect(await loginAnswer(server.probeUrl, 'billing_svc', password)).toBe('ok');
    expect(await loginAnswer(server.probeUrl, 'billing_svc', old)).toBe('28P01');

    const report = await gatehouse(['campaign', 'report', campaign!, '--format', 'json']);
    const item = (JSON.parse(report.stdout) as { items: { name: string; evidence: { kind: string; detail: Record<string, unknown> } }[] }).items[0];
    expect(item).toMatchObject({ name: 'billing-db', evidence: { kind: 'old_credential_refused', detail: { recoveredStagedSecret: true } } });
    const audit = await gatehouse(['audit', 'query']);
    expect(audit.stdout).toContain('campaign.item_closed');
    const database = ['gatehouse.db', 'gatehouse.db-wal'].filter((name) => existsSync(join(dir, name))).map((name) => readFileSync(join(dir, name)).toString('latin1'));
    for (const text of [firstErr, resumed.stdout, resumed.stderr, report.stdout, audit.stdout, ...database]) {
      expect(text.includes(password)).toBe(false);
      expect(text.includes(old)).toBe(false);
    }
    // The server's statement log has the test's own CREATE ROLE with the old password; ALTER ROLE carried a verifier.
    expect(server.log().includes(password)).toBe(false);
  } finally {
    if (sleeper !== undefined) {
      try {
        process.kill(sleeper, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
