/**
 * Every command's `--json`, walked against one database: valid JSON in the one style of docs/cli.md
 * (ISO 8601 times, never epoch milliseconds; `null`, never `-`; camelCase keys). The command tree is
 * read from the program itself, so a new command with `--json` fails here until it has a recipe.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveCommand } from '../peers.js';
import { keygen } from '../../src/ssh/test-support/ssh-peers.js';
import { runGatehouse } from '../support/cli.js';
import { coreConfigYaml } from '../support/core-fixture.js';
import { createProgram } from '../../src/cli/program.js';
import { loadConfigFile } from '../../src/config/index.js';
import { openCore } from '../../src/core.js';
import { systemClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';

/** A live session for ann, so session listings have rows (times, AMR lists) to check. */
async function signInAnn(): Promise<void> {
  const core = await openCore(loadConfigFile(config), { clock: systemClock, random: cryptoRandom });
  try {
    const ann = await core.identity.users.require('ann@acme.test');
    await core.identity.sessions.issue({ userId: ann.id, amr: ['hwk', 'mfa'], phishingResistant: true, ip: '198.51.100.7', userAgent: 'test' });
  } finally {
    await core.close();
  }
}

const haveKeygen = haveCommand('ssh-keygen');
let dir: string;
let config: string;
const gatehouse = (args: string[], input?: string) => runGatehouse(args, { config, cwd: dir, ...(input === undefined ? {} : { input }) });

const REPORT_TEXT = 'Your payroll is on hold: hxxps://pay.acme-payroll[.]com/verify';

/** Commands whose `--json` is not walked here, and where it is tested instead. */
const NOT_WALKED: Record<string, string> = {
  login: 'needs a browser: test/cli/cli-login-flow.test.ts',
  logout: 'needs a stored sign-in: test/cli/cli-login-flow.test.ts',
  'secrets rotate-kek': 'needs a key file on disk: test/cli/secrets-cli.test.ts',
  'secrets forget-lost': 'deletes sealed values: test/cli/secrets-cli.test.ts',
};

/** Runs in order (an empty list: refused here, its JSON checked in the refusal test below) (later ones use what earlier ones made); each must exit 0 and print JSON. */
function recipes(): [string, string[][]][] {
  const walked: [string, string[][]][] = [
    ['init', [['init', '--dir', join(dir, 'demo')]]],
    ['config check', [['config', 'check']]],
    ['user add', [['user', 'add', 'ann@acme.test', '--group', 'ops']]],
    ['user invite', [['user', 'invite', 'bob@acme.test']]],
    ['user list', [['user', 'list']]],
    ['user show', [['user', 'show', 'ann@acme.test']]],
    ['user keys', [['user', 'keys', 'ann@acme.test']]],
    ['user group add', [['user', 'group', 'add', 'ann@acme.test', 'admins']]],
    ['user group remove', [['user', 'group', 'remove', 'ann@acme.test', 'admins']]],
    ['user remove-key', []],
    ['user disable', [['user', 'disable', 'bob@acme.test']]],
    ['user enable', [['user', 'enable', 'bob@acme.test']]],
    ['sessions list', [['sessions', 'list']]],
    ['sessions revoke', [['sessions', 'revoke', '--user', 'ann@acme.test']]],
    ['apps list', [['apps', 'list']]],
    ['policy test', [['policy', 'test', '--app', 'payroll', '--user', 'ann@acme.test', '--ip', '198.51.100.7']]],
    ['ip block', [['ip', 'block', '203.0.113.0/24', '--reason', 'scanner', '--hours', '2']]],
    ['ip list', [['ip', 'list']]],
    ['ip unblock', [['ip', 'unblock', '203.0.113.0/24']]],
    ['domain check', [['domain', 'check', '--offline', 'example.com']]],
    ['domain block', [['domain', 'block', 'evil.example', '--reason', 'phishing']]],
    ['dns lists', [['dns', 'lists']]],
    ['domain unblock', [['domain', 'unblock', 'evil.example']]],
    ['dns token', [['dns', 'token', 'ann@acme.test']]],
    ['tokens create', [['tokens', 'create', 'ci', '--owner', 'ann@acme.test', '--app', 'payroll']]],
    ['tokens list', [['tokens', 'list']]],
    ['tokens show', [['tokens', 'show', 'ci']]],
    ['tokens mark-unused', [['tokens', 'mark-unused', 'ci']]],
    ['tokens suspend', [['tokens', 'suspend', 'ci']]],
    ['tokens resume', [['tokens', 'resume', 'ci']]],
    ['tokens rotate', [['tokens', 'rotate', 'ci', '--overlap', '1h']]],
    ['hunt token-use', [['hunt', 'token-use', 'ci']]],
    ['tokens revoke', [['tokens', 'revoke', 'ci']]],
    ['hunt password-without-key', [['hunt', 'password-without-key']]],
    ['hunt from-ip', [['hunt', 'from-ip', '198.51.100.7']]],
    ['hunt resolved-domain', [['hunt', 'resolved-domain', 'evil.example']]],
    ['hunt new-admins', [['hunt', 'new-admins']]],
    ['incident declare', [['incident', 'declare', '--title', 'dry', '--ip', '192.0.2.1', '--dry-run'], ['incident', 'declare', '--title', 'phish', '--domain', 'evil.example', '--ip', '192.0.2.1']]],
    ['incident list', [['incident', 'list']]],
    ['incident show', [['incident', 'show', '@incident']]],
    ['incident resume', [['incident', 'resume', '@incident']]],
    ['incident close', [['incident', 'close', '@incident']]],
    ['inventory add', [['inventory', 'add', 'gh-ci', '--kind', 'api_token', '--system', 'github', '--owner', 'ann@acme.test']]],
    ['inventory import', [['inventory', 'import', join(dir, 'inventory.json')]]],
    ['inventory list', [['inventory', 'list']]],
    ['inventory show', [['inventory', 'show', 'gh-ci']]],
    ['inventory edit', [['inventory', 'edit', 'gh-ci', '--owner', 'bob@acme.test']]],
    ['campaign start', [['campaign', 'start', '--reason', 'vendor breach', '--scope', 'system=github']]],
    ['campaign list', [['campaign', 'list']]],
    ['campaign status', [['campaign', 'status', '@campaign']]],
    ['campaign resume', [['campaign', 'resume', '@campaign']]],
    ['campaign attest', [['campaign', 'attest', '@campaign']]],
    ['campaign report', [['campaign', 'report', '@campaign']]],
    ['campaign close', []],
    ['inventory retire', [['inventory', 'retire', 'legacy-key']]],
    ['secrets init-kek', [['secrets', 'init-kek', '--file', join(dir, 'new.kek')]]],
    ['secrets status', [['secrets', 'status']]],
    ['ssh ca', [['ssh', 'ca']]],
    ['ssh ca rotate', [['ssh', 'ca', 'rotate', '--overlap', '1h']]],
    ['audit prune', [['audit', 'prune', '--before', '2000-01-01']]],
    ['audit verify', [['audit', 'verify']]],
    ['audit head', [['audit', 'head']]],
    ['audit query', [['audit', 'query', '--type', 'user.created']]],
    // A report reads its text on standard input (REPORT_TEXT); the group it opens is used after it.
    ['report submit', [['report', 'submit', '--as', 'ann@acme.test']]],
    ['report list', [['report', 'list']]],
    ['report show', [['report', 'show', '@group']]],
    ['report abuse', [['report', 'abuse', '@group', '--no-rdap', '--to', 'abuse@registrar.test']]],
    ['report escalate', [['report', 'escalate', '@group']]],
    ['report dismiss', [['report', 'dismiss', '@group']]],
  ];
  if (haveKeygen) {
    walked.push(['ssh host-cert', [['ssh', 'host-cert', '--host-key', join(dir, 'host.pub'), '--principal', 'db1.acme.test']]]);
    walked.push(['ssh sign', [['ssh', 'sign', '--user', 'ann@acme.test', '--public-key', join(dir, 'user.pub')]]]);
  }
  return walked;
}

function jsonCommands(): string[] {
  const { program } = createProgram({ stdout: { write: () => true }, stderr: { write: () => true }, stdin: process.stdin, env: {}, cwd: dir });
  const found: string[] = [];
  const walk = (command: Command, prefix: string[]) => {
    for (const sub of command.commands) {
      const path = [...prefix, sub.name()];
      if (sub.options.some((option) => option.long === '--json')) found.push(path.join(' '));
      walk(sub, path);
    }
  };
  walk(program, []);
  return found;
}

const TIME_KEY = /(^at$|At$|_at$|^since$|^until$|^time$|Until$)/;
/** Subtrees in a standard of their own, or keyed by recorded data (docs/cli.md). */
const OPAQUE = new Set(['stix']);
const DATA_KEYED = new Set(['detail', 'counts', 'byState', 'byEndState']);

/** Every departure from the JSON style, as `path: what`. */
function styleProblems(value: unknown, path = '$', key = '', keepKeys = false): string[] {
  if (OPAQUE.has(key)) return [];
  if (value === '-') return [`${path}: "-" instead of null`];
  if (typeof value === 'number' && TIME_KEY.test(key)) return [`${path}: epoch number ${value} for a time`];
  if (typeof value === 'string' && TIME_KEY.test(key) && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)) return [`${path}: time ${JSON.stringify(value)} is not ISO 8601 UTC`];
  if (Array.isArray(value)) return value.flatMap((item, index) => styleProblems(item, `${path}[${index}]`, '', keepKeys));
  if (value !== null && typeof value === 'object') {
    const keep = keepKeys || DATA_KEYED.has(key);
    return Object.entries(value).flatMap(([k, v]) => [
      ...(!keep && /_/.test(k) ? [`${path}.${k}: snake_case key`] : []),
      ...styleProblems(v, `${path}.${k}`, k, keep),
    ]);
  }
  return [];
}

function parseOutput(command: string, stdout: string): unknown[] {
  // Streaming commands print JSON lines; the rest one document.
  if (command === 'audit query' || command === 'domain check') return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown);
  return [JSON.parse(stdout) as unknown];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-json-style-'));
  config = join(dir, 'gatehouse.yaml');
  writeFileSync(
    config,
    coreConfigYaml(
      `sqlite:${join(dir, 'store.db')}`,
      `apps:
  - name: payroll
    host: payroll.acme.localhost
    upstream: http://127.0.0.1:9
    policies:
      - { name: staff, action: allow, include: [{ group: [ops] }] }
ssh:
  principals:
    - { group: ops, logins: [deploy] }
`,
    ),
  );
  writeFileSync(join(dir, 'inventory.json'), JSON.stringify([{ name: 'legacy-key', kind: 'ssh_key', system: 'bastion', owner: 'ann@acme.test' }]));
  if (haveKeygen) {
    // Asynchronous: a synchronous child would block this worker's RPC with vitest on a busy machine.
    for (const name of ['host', 'user']) await keygen(dir, name);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('every --json output', () => {
  it('has a recipe here, or a reason it is walked elsewhere', () => {
    const known = new Set([...recipes().map(([name]) => name), ...Object.keys(NOT_WALKED), ...(haveKeygen ? [] : ['ssh host-cert', 'ssh sign'])]);
    expect(jsonCommands().filter((name) => !known.has(name))).toEqual([]);
  });

  it('is valid JSON with ISO times, null for absent and camelCase keys', async () => {
    const ids: Record<string, string> = {};
    const problems: string[] = [];
    for (const [command, runs] of recipes()) {
      for (const run of runs) {
        const args = run.map((arg) => (arg.startsWith('@') ? ids[arg.slice(1)] ?? arg : arg));
        const result = await gatehouse([...args, '--json'], command === 'report submit' ? REPORT_TEXT : undefined);
        expect({ command: args.join(' '), code: result.code, stderr: result.stderr.slice(0, 400), stdout: result.stdout.slice(0, 600) }).toMatchObject({ code: 0 });
        const documents = parseOutput(command, result.stdout);
        expect(documents.length, command).toBeGreaterThan(0);
        for (const document of documents) problems.push(...styleProblems(document).map((problem) => `${args.slice(0, 3).join(' ')}: ${problem}`));
        const first = documents[0] as { id?: string; campaign?: string; groupId?: string };
        if (command === 'report submit' && first.groupId) ids.group = first.groupId;
        if (command === 'user add') await signInAnn();
        if (command === 'sessions list') expect(documents[0], 'a session to check').toMatchObject([{ amr: ['hwk', 'mfa'], lastSeenAt: expect.stringMatching(/Z$/) }]);
        if (command === 'incident declare' && first.id) ids.incident = first.id;
        if (command === 'campaign start' && first.campaign) ids.campaign = first.campaign;
      }
    }
    expect(problems).toEqual([]);
  });

  it('the style pass itself: epoch times become ISO, "-" becomes null, arrays stay arrays', async () => {
    const { jsonStyle } = await import('../../src/cli/json-style.js');
    expect(jsonStyle({ created_at: 1_767_225_600_000, model: '-', amr: ['hwk'], gone: undefined, detail: { expires_at: 1_767_225_600_000 }, stix: { spec_version: '2.1' } })).toEqual({
      createdAt: '2026-01-01T00:00:00Z',
      model: null,
      amr: ['hwk'],
      gone: null,
      detail: { expires_at: '2026-01-01T00:00:00Z' },
      stix: { spec_version: '2.1' },
    });
  });
});
