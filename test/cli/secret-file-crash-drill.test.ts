/**
 * The secret files of `--deliver-dir`, as real processes.
 *
 * Crash: `gatehouse campaign start` is killed with SIGKILL after it wrote a new service-token secret to
 * its temporary file and before the rename. The crash point is a preload (`--import`) that stalls the
 * process's first rename of a `.gatehouse-new-*` file, so the kill lands exactly there; everything else
 * is the real CLI. What it leaves, `.gatehouse-new-<pid>-1` (0600, a live secret), must be removed by
 * the next run, said on stderr and in the audit log, and the run must complete. A temporary file of a
 * process that is still alive is never removed.
 *
 * Attack: someone who can write to the deliver directory plants a symlink at the file Gatehouse will
 * write, pointing at a file they want overwritten (or one they can read). The delivery is refused
 * with `secret_target_not_a_file`; the file the link points to is untouched, the link still a link.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runGatehouse, runGatehouseProcess } from '../support/cli.js';
import { loadConfigFile } from '../../src/config/index.js';
import { fixtureConfigYaml } from '../support/gatehouse-fixture.js';
import { builtCli } from '../support/paths.js';

/** Stalls the first rename of a temporary secret file, after marking where: the crash point. */
const CRASH_POINT = `
import fs from 'node:fs';
import { basename } from 'node:path';
import { syncBuiltinESMExports } from 'node:module';
const rename = fs.promises.rename;
fs.promises.rename = async (from, to) => {
  if (basename(String(from)).startsWith('.gatehouse-new-')) {
    fs.writeFileSync(process.env.CRASH_POINT_REACHED, JSON.stringify({ temporary: String(from), target: String(to) }));
    setInterval(() => {}, 1 << 30);
    return new Promise(() => {});
  }
  return rename(from, to);
};
syncBuiltinESMExports();
`;

const SECRET_FILE = /^gh-svc-[^\n]+\ngh-secret-[^\n]+\n$/;

let dir: string;
let configPath: string;
const gatehouse = (args: string[]) => runGatehouse(args, { config: configPath, cwd: dir });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-secret-file-drill-'));
  configPath = join(dir, 'gatehouse.yaml');
  writeFileSync(
    configPath,
    fixtureConfigYaml({
      port: 8080,
      dir,
      extraYaml: `apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: everyone, action: allow, include: [{ everyone: true }] }
`,
    }),
  );
  expect((await gatehouse(['tokens', 'create', 'deploy-bot', '--owner', 'build@acme.test', '--app', 'payroll'])).code).toBe(0);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1200; i += 1) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('kill -9 between the temporary write and the rename: the next run removes the stale secret file, says so, and completes', { timeout: 120_000 }, async () => {
  writeFileSync(join(dir, 'crash-point.mjs'), CRASH_POINT);
  const reachedFile = join(dir, 'reached');
  const first = spawn(process.execPath, ['--import', pathToFileURL(join(dir, 'crash-point.mjs')).href, builtCli(), '--config', configPath, 'campaign', 'start', '--reason', 'vendor breach', '--emergency', '--deliver-dir', 'token-secrets', '--json'], {
    cwd: dir,
    env: { PATH: process.env.PATH, CRASH_POINT_REACHED: reachedFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let firstErr = '';
  first.stderr.setEncoding('utf8').on('data', (chunk: string) => (firstErr += chunk));
  first.stdout.resume();
  const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
  const reached = await until('the rename of the temporary secret file', () => {
    if (first.exitCode !== null) throw new Error(`campaign start exited (${first.exitCode}) before the rename: ${firstErr}`);
    return existsSync(reachedFile) ? (JSON.parse(readFileSync(reachedFile, 'utf8')) as { temporary: string; target: string }) : undefined;
  });
  first.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  const campaign = /campaign ([0-9a-f-]{36}):/.exec(firstErr)?.[1];
  expect(campaign, firstErr).toBeDefined();

  // What the crash left: the temporary file, complete, private, holding a secret; no delivered file.
  const secrets = join(dir, 'token-secrets');
  // Its second temporary: the first was the check before the rotation (checkSecretTarget), removed at once.
  const stale = `.gatehouse-new-${first.pid}-2`;
  expect(reached.temporary).toBe(join(secrets, stale));
  expect(readdirSync(secrets)).toEqual([stale]);
  expect(statSync(join(secrets, stale)).mode & 0o777).toBe(0o600);
  const staleSecret = readFileSync(join(secrets, stale), 'utf8');
  expect(staleSecret).toMatch(SECRET_FILE);
  // A temporary file of a process that is alive (this test's) is not the next run's to remove.
  const live = `.gatehouse-new-${process.pid}-1`;
  writeFileSync(join(secrets, live), 'in flight elsewhere', { mode: 0o600 });

  const resumed = await runGatehouseProcess(['campaign', 'resume', campaign!, '--deliver-dir', 'token-secrets', '--json'], { config: configPath, cwd: dir });
  expect(resumed.code, resumed.stderr).toBe(0);
  expect((JSON.parse(resumed.stdout) as { counts: Record<string, number> }).counts).toEqual({ done: 1 });
  expect(resumed.stderr).toContain(`Removed 1 temporary secret file(s) left in ${secrets} by a run that crashed: ${stale}`);
  expect(resumed.stderr).toContain(`Left 1 temporary secret file(s) in ${secrets}: their process is still running (${live}, pid ${process.pid})`);
  expect(readdirSync(secrets).sort()).toEqual([live, 'deploy-bot.secret'].sort());
  expect(statSync(join(secrets, 'deploy-bot.secret')).mode & 0o777).toBe(0o600);
  const delivered = readFileSync(join(secrets, 'deploy-bot.secret'), 'utf8');
  expect(delivered).toMatch(SECRET_FILE);
  expect(delivered).not.toBe(staleSecret);

  const audit = await gatehouse(['audit', 'query', '--type', 'campaign.stale_secret_files_removed', '--json']);
  expect(audit.code, audit.stderr).toBe(0);
  expect(audit.stdout).toContain(stale);
  expect(audit.stdout).toContain(String(first.pid));
  expect(audit.stdout).not.toContain(live);
  const secretOf = (text: string) => text.split('\n')[1]!;
  for (const text of [audit.stdout, resumed.stdout, resumed.stderr, firstErr]) {
    expect(text.includes(secretOf(staleSecret))).toBe(false);
    expect(text.includes(secretOf(delivered))).toBe(false);
  }
});

it('a symlink planted at the deliver target is refused with its code; the file it points to is untouched', { timeout: 60_000 }, async () => {
  const secrets = join(dir, 'token-secrets');
  mkdirSync(secrets, { mode: 0o700 });
  const victim = join(dir, 'authorized_keys');
  writeFileSync(victim, 'ssh-ed25519 AAAA the operator\n', { mode: 0o644 });
  symlinkSync(victim, join(secrets, 'deploy-bot.secret'));

  const started = await gatehouse(['campaign', 'start', '--reason', 'vendor breach', '--emergency', '--deliver-dir', 'token-secrets', '--json']);
  expect(started.code, started.stderr).toBe(0);
  const result = JSON.parse(started.stdout) as { campaign: string; counts: Record<string, number> };
  expect(result.counts).toEqual({ failed: 1 });
  const report = await gatehouse(['campaign', 'report', result.campaign, '--format', 'json']);
  expect(report.stdout).toContain('secret_target_not_a_file');

  expect(readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA the operator\n');
  expect(statSync(victim).mode & 0o777).toBe(0o644);
  expect(lstatSync(join(secrets, 'deploy-bot.secret')).isSymbolicLink()).toBe(true);
  expect(readlinkSync(join(secrets, 'deploy-bot.secret'))).toBe(victim);
  // Nothing else was left behind in the directory (no temporary file holding the secret).
  expect(readdirSync(secrets)).toEqual(['deploy-bot.secret']);
});

/** Rotates deploy-bot once from the CLI, so the test holds the secret in use (the fixture's is never printed). */
async function secretInUse(): Promise<{ clientId: string; secret: string }> {
  const rotated = await gatehouse(['tokens', 'rotate', 'deploy-bot', '--emergency', '--json']);
  expect(rotated.code, rotated.stderr).toBe(0);
  return JSON.parse(rotated.stdout) as { clientId: string; secret: string };
}

/** What this instance's verifier says to `secret` now, and the token's state version. */
async function verifierSays(held: { clientId: string; secret: string }): Promise<{ ok: boolean; version: number }> {
  const [{ openCore }, { createServiceTokens, serviceTokenSettingsOf }, { systemClock }, { cryptoRandom }] = await Promise.all([
    import('../../src/core.js'),
    import('../../src/credentials/index.js'),
    import('../../src/lib/clock.js'),
    import('../../src/lib/random.js'),
  ]);
  const core = await openCore(loadConfigFile(configPath), { clock: systemClock, random: cryptoRandom });
  try {
    const tokens = createServiceTokens({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) });
    await tokens.load();
    try {
      return { ok: tokens.verify({ clientId: held.clientId, secret: held.secret, app: 'payroll', now: Date.now() }).ok, version: (await tokens.show('deploy-bot')).version };
    } finally {
      await tokens.stop();
    }
  } finally {
    await core.close();
  }
}

/** Starts an emergency campaign delivering to `deliverDir`; returns its counts and the failed item's recorded error. */
async function emergencyCampaign(deliverDir: string): Promise<{ counts: Record<string, number>; report: string }> {
  const started = await gatehouse(['campaign', 'start', '--reason', 'vendor breach', '--emergency', '--deliver-dir', deliverDir, '--json']);
  expect(started.code, started.stderr).toBe(0);
  const result = JSON.parse(started.stdout) as { campaign: string; counts: Record<string, number> };
  const report = await gatehouse(['campaign', 'report', result.campaign, '--format', 'json']);
  return { counts: result.counts, report: report.stdout };
}

it('a symlink planted at the deliver target fails the item BEFORE the rotation: the old secret still works', { timeout: 60_000 }, async () => {
  const held = await secretInUse();
  const before = await verifierSays(held);
  expect(before.ok).toBe(true);
  const secrets = join(dir, 'token-secrets');
  mkdirSync(secrets, { mode: 0o700 });
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'not a secret\n', { mode: 0o644 });
  symlinkSync(victim, join(secrets, 'deploy-bot.secret'));

  const { counts, report } = await emergencyCampaign('token-secrets');
  expect(counts).toEqual({ failed: 1 });
  expect(report).toContain('secret_target_not_a_file');
  expect(await verifierSays(held)).toEqual(before);
  expect(readFileSync(victim, 'utf8')).toBe('not a secret\n');
  expect(readdirSync(secrets)).toEqual(['deploy-bot.secret']);
});

it('a deliver folder that takes no new file, or is not a folder, fails the item BEFORE the rotation with secret_dir_unusable', { timeout: 60_000 }, async () => {
  const held = await secretInUse();
  const before = await verifierSays(held);
  expect(before.ok).toBe(true);
  // Root writes through a 0500 folder's mode bits; sysfs refuses a new file even to root.
  let readOnly = '/sys/kernel';
  if (process.getuid?.() !== 0) {
    readOnly = join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o500 });
  }
  const notAFolder = join(dir, 'plain-file');
  writeFileSync(notAFolder, 'x');
  for (const deliverDir of [readOnly, notAFolder]) {
    const { counts, report } = await emergencyCampaign(deliverDir);
    expect({ deliverDir, counts }).toEqual({ deliverDir, counts: { failed: 1 } });
    expect(report).toContain('secret_dir_unusable');
    expect(await verifierSays(held)).toEqual(before);
  }
});

it('campaign start sweeps the configured rotators’ folders too (a directory sink, an exec sink’s staging folder)', { timeout: 60_000 }, async () => {
  writeFileSync(
    configPath,
    `${readFileSync(configPath, 'utf8')}rotators:
  pg-main:
    type: postgres-role
    admin_url: postgres://rotator@127.0.0.1:9/postgres
    sink: { type: directory, path: service }
  pg-other:
    type: postgres-role
    admin_url: postgres://rotator@127.0.0.1:9/postgres
    sink: { type: exec, deliver: { argv: [/bin/false] }, staging_dir: staging }
`,
  );
  const dead = await exitedPid();
  for (const folder of ['service', 'staging']) {
    mkdirSync(join(dir, folder), { mode: 0o700 });
    writeFileSync(join(dir, folder, `.gatehouse-new-${dead}-2`), 'a secret from a crashed run', { mode: 0o600 });
  }
  const started = await gatehouse(['campaign', 'start', '--reason', 'vendor breach', '--emergency', '--deliver-dir', 'token-secrets', '--json']);
  expect(started.code, started.stderr).toBe(0);
  for (const folder of ['service', 'staging']) {
    expect(readdirSync(join(dir, folder))).toEqual([]);
    expect(started.stderr).toContain(`Removed 1 temporary secret file(s) left in ${join(dir, folder)} by a run that crashed: .gatehouse-new-${dead}-2`);
  }
  const audit = await gatehouse(['audit', 'query', '--type', 'campaign.stale_secret_files_removed', '--json']);
  expect(audit.stdout.trim().split('\n')).toHaveLength(2);
  expect(audit.stdout).not.toContain('a secret from a crashed run');
});

/** The pid of a process that has exited, waited for without blocking the test worker's event loop. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}
