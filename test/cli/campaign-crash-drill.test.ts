/**
 * The crash drill for rotation campaigns, as real processes: `gatehouse campaign start` is killed with
 * SIGKILL while a rotation is in flight (no finally blocks, no cleanup), then `gatehouse campaign
 * resume` in a second process finishes the campaign. Nothing rotated twice but the item in flight,
 * which the rotator contract allows to be rotated again (its evidence was never recorded); nothing
 * missed; the dead process's claim taken over at once, because it names a pid that is gone.
 *
 * The outside system is a script run by an `exec` rotator from the `rotators:` section: it keeps each
 * account's secret in a file, appends one ledger line per rotation, and probes by presenting the old
 * secret to its own login check. On the chosen rotation it stops after rotating, before it reports
 * evidence, writes a "reached" marker and waits: the test kills Gatehouse there.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { runGatehouse, runGatehouseProcess } from '../support/cli.js';
import { fixtureConfigYaml, freshPostgresDatabase } from '../support/gatehouse-fixture.js';
import { builtCli } from '../support/paths.js';

const pgUp = await havePostgres();
if (!pgUp) {
  if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: PostgreSQL at ${POSTGRES_TEST_URL}`);
  process.stderr.write(`\n[SKIPPED] campaign crash drill on PostgreSQL: no server at ${POSTGRES_TEST_URL}\n`);
}

const ACCOUNTS = Array.from({ length: 20 }, (_, i) => `svc-${String(i + 1).padStart(2, '0')}`);
const TOKENS = ['deploy-bot', 'backup-bot', 'metrics-bot'];
/** The rotation during which Gatehouse is killed: six done before it, one in flight. */
const BLOCK_AT = 7;

/** The outside system: login check, rotation, ledger, probe. Node, so the test needs nothing else. */
const OUTSIDE_SYSTEM = `
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const state = process.argv[2];
const input = JSON.parse(readFileSync(0, 'utf8'));
const account = input.locator.account;
if (input.action !== 'rotate' || !/^svc-[0-9]{2}$/.test(account)) process.exit(3);
const secretFile = join(state, 'secrets', account + '.secret');
const fingerprint = (secret) => createHash('sha256').update(secret).digest('hex').slice(0, 16);
const login = (presented) => {
  const current = readFileSync(secretFile);
  return current.length === presented.length && timingSafeEqual(current, presented);
};
const old = readFileSync(secretFile);
const next = Buffer.from(randomBytes(24).toString('base64url'));
writeFileSync(secretFile + '.next', next, { mode: 0o600 });
renameSync(secretFile + '.next', secretFile);
const ledger = join(state, 'ledger');
appendFileSync(ledger, account + ' ' + fingerprint(old) + '>' + fingerprint(next) + ' ' + process.pid + ' ' + process.ppid + '\\n');
const blockAt = join(state, 'block-at');
const rotations = readFileSync(ledger, 'utf8').trim().split('\\n').length;
if (existsSync(blockAt) && Number(readFileSync(blockAt, 'utf8')) === rotations) {
  const parent = process.ppid;
  writeFileSync(join(state, 'reached'), JSON.stringify({ account, pid: process.pid, gatehouse: parent }));
  // Rotated, evidence not yet reported. Waits for its caller to die (then it is re-parented), bounded.
  const until = Date.now() + 120000;
  while (process.ppid === parent && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  process.exit(9);
}
const refused = !login(old) && login(next);
process.stdout.write(JSON.stringify({ deliveredTo: 'file:' + secretFile, probe: { refused, detail: refused ? 'old secret refused at login; new one accepted' : 'old secret still accepted' } }));
`;

const fingerprint = (secret: Buffer | string) => createHash('sha256').update(secret).digest('hex').slice(0, 16);

interface LedgerLine {
  account: string;
  from: string;
  to: string;
  pid: number;
  gatehouse: number;
}

function readLedger(path: string): LedgerLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [account, change, pid, gatehouse] = line.split(' ');
      const [from, to] = (change ?? '').split('>');
      return { account: account!, from: from!, to: to!, pid: Number(pid), gatehouse: Number(gatehouse) };
    });
}

async function until<T>(what: string, probe: () => T | undefined, attempts = 1200): Promise<T> {
  for (let i = 0; i < attempts; i += 1) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const backends: [string, boolean][] = [
  ['SQLite file', true],
  ['PostgreSQL', pgUp],
];

for (const [backend, available] of backends) {
  it.runIf(available)(`${backend}: kill -9 mid-rotation, resume in a new process: nothing rotated twice but the item in flight, nothing missed`, { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-drill-'));
    const state = join(dir, 'system');
    let blocked: number | undefined;
    try {
      mkdirSync(join(state, 'secrets'), { recursive: true });
      const initial = new Map<string, string>();
      for (const account of ACCOUNTS) {
        const secret = `${account}-initial-secret`;
        writeFileSync(join(state, 'secrets', `${account}.secret`), secret, { mode: 0o600 });
        initial.set(account, fingerprint(secret));
      }
      writeFileSync(join(dir, 'outside-system.mjs'), OUTSIDE_SYSTEM);
      writeFileSync(join(state, 'block-at'), String(BLOCK_AT));
      const databaseUrl = backend === 'PostgreSQL' ? await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_campaign_crash_drill') : undefined;
      const configPath = join(dir, 'gatehouse.yaml');
      writeFileSync(
        configPath,
        fixtureConfigYaml({
          port: 8080,
          dir,
          ...(databaseUrl ? { databaseUrl } : {}),
          extraYaml: `apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: everyone, action: allow, include: [{ everyone: true }] }
rotators:
  outside:
    type: exec
    commands:
      rotate:
        argv: ${JSON.stringify([process.execPath, join(dir, 'outside-system.mjs'), state])}
        timeout_ms: 150000
`,
        }),
      );
      const gatehouse = (args: string[]) => runGatehouse(args, { config: configPath, cwd: dir });

      writeFileSync(join(dir, 'inventory.json'), JSON.stringify(ACCOUNTS.map((account) => ({ name: account, kind: 'service_account', system: 'outside', owner: 'ops@acme.test', rotator: 'outside', locator: { command: 'rotate', account } }))));
      expect((await gatehouse(['inventory', 'import', 'inventory.json'])).stdout).toContain(`${ACCOUNTS.length} added`);
      for (const token of TOKENS) expect((await gatehouse(['tokens', 'create', token, '--owner', 'build@acme.test', '--app', 'payroll'])).code).toBe(0);

      // The first run, a real process, killed while rotation number BLOCK_AT is in flight.
      const first = spawn(process.execPath, [builtCli(), '--config', configPath, 'campaign', 'start', '--reason', 'crash drill', '--emergency', '--deliver-dir', 'token-secrets', '--json'], {
        cwd: dir,
        env: { PATH: process.env.PATH },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let firstErr = '';
      first.stderr.setEncoding('utf8').on('data', (chunk: string) => (firstErr += chunk));
      first.stdout.resume();
      const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
      const reached = await until('the in-flight rotation', () => {
        if (first.exitCode !== null) throw new Error(`campaign start exited (${first.exitCode}) before the in-flight rotation: ${firstErr}`);
        return existsSync(join(state, 'reached')) ? (JSON.parse(readFileSync(join(state, 'reached'), 'utf8')) as { account: string; pid: number; gatehouse: number }) : undefined;
      });
      blocked = reached.pid;
      expect(reached.gatehouse).toBe(first.pid);
      first.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const campaign = /campaign ([0-9a-f-]{36}): 23 credential\(s\) in scope/.exec(firstErr)?.[1];
      expect(campaign, firstErr).toBeDefined();
      await until('the in-flight rotation command to end with its caller', () => (isAlive(reached.pid) ? undefined : true));

      const beforeCrash = readLedger(join(state, 'ledger'));
      expect(beforeCrash).toHaveLength(BLOCK_AT);
      expect(beforeCrash.every((l) => l.gatehouse === first.pid)).toBe(true);
      const doneBeforeCrash = beforeCrash.slice(0, BLOCK_AT - 1).map((l) => l.account);
      expect(beforeCrash.at(-1)?.account).toBe(reached.account);
      const atCrash = JSON.parse((await gatehouse(['campaign', 'status', campaign!, '--json'])).stdout) as { byState: Record<string, number> };
      // Inventory items are claimed before token items (by key): the tokens are all still pending.
      expect(atCrash.byState).toEqual({ done: BLOCK_AT - 1, rotating: 1, pending: ACCOUNTS.length + TOKENS.length - BLOCK_AT });

      // The second run, a real process: the blocking switch off. It must take over the dead claim now.
      rmSync(join(state, 'block-at'));
      const resumed = await runGatehouseProcess(['campaign', 'resume', campaign!, '--deliver-dir', 'token-secrets', '--json'], { config: configPath, cwd: dir });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect((JSON.parse(resumed.stdout) as { counts: Record<string, number> }).counts).toEqual({ done: ACCOUNTS.length + TOKENS.length });

      const takeovers = (await gatehouse(['audit', 'query', '--type', 'campaign.lease_taken_over'])).stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { detail: { campaign: string; item: string; reason: string; holder: { pid: number } } });
      expect(takeovers).toHaveLength(1);
      expect(takeovers[0]!.detail).toMatchObject({ campaign, item: reached.account, reason: 'holder_process_gone', holder: { pid: first.pid } });

      // The outside system's ledger: every account, each chain unbroken from its first secret to the one in use.
      const ledger = readLedger(join(state, 'ledger'));
      const resumeLines = ledger.slice(BLOCK_AT);
      expect(resumeLines.length).toBeGreaterThan(0);
      expect(new Set(resumeLines.map((l) => l.gatehouse)).size).toBe(1);
      expect(resumeLines[0]!.gatehouse).not.toBe(first.pid);
      for (const account of ACCOUNTS) {
        const lines = ledger.filter((l) => l.account === account);
        if (doneBeforeCrash.includes(account)) expect(lines, account).toHaveLength(1);
        else if (account === reached.account) {
          // The contract (rotator.ts, create-campaigns.ts): an item whose evidence was not recorded is
          // run again, so at most twice per crash. Here its first rotation happened before the kill,
          // so the second, which produced the evidence, must be the resume's.
          expect(lines.length, account).toBeLessThanOrEqual(2);
          expect(lines.map((l) => l.gatehouse)).toEqual([first.pid, resumeLines[0]!.gatehouse]);
        } else expect(lines, account).toHaveLength(1);
        expect(lines[0]!.from, account).toBe(initial.get(account));
        for (let i = 1; i < lines.length; i += 1) expect(lines[i]!.from, account).toBe(lines[i - 1]!.to);
        expect(lines.at(-1)!.to, account).toBe(fingerprint(readFileSync(join(state, 'secrets', `${account}.secret`))));
      }
      expect(ledger).toHaveLength(ACCOUNTS.length + 1);

      // Every item closed on evidence, in the report; the campaign closes.
      const report = JSON.parse((await gatehouse(['campaign', 'report', campaign!, '--format', 'json'])).stdout) as {
        items: { name: string; source: string; state: string; endState: string; attempts: number; evidence: { kind: string; detail: Record<string, unknown> } | null }[];
      };
      expect(report.items.map((i) => i.name).sort()).toEqual([...ACCOUNTS, ...TOKENS].sort());
      for (const item of report.items) {
        expect(item, item.name).toMatchObject({ state: 'done', endState: 'rotated', evidence: { kind: 'old_credential_refused' } });
        expect(item.attempts, item.name).toBe(item.name === reached.account ? 2 : 1);
        if (item.source === 'inventory') expect(item.evidence?.detail).toMatchObject({ probe: 'exec rotate', refused: true, answer: 'old secret refused at login; new one accepted' });
      }
      expect((await gatehouse(['campaign', 'close', campaign!])).code).toBe(0);

      // Each service token rotated exactly once, its new secret delivered.
      const rotated = (await gatehouse(['audit', 'query', '--type', 'service_token.rotated'])).stdout
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { detail: { name: string } }).detail.name);
      expect(rotated.sort()).toEqual([...TOKENS].sort());
      for (const token of TOKENS) expect(existsSync(join(dir, 'token-secrets', `${token}.secret`)), token).toBe(true);
    } finally {
      if (blocked !== undefined && isAlive(blocked)) process.kill(blocked, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
