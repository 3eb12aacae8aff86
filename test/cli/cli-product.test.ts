/**
 * The command line as a product (docs/cli.md, "Output and exit codes"): exit 0 ok, 1 refused or
 * failed, 2 bad usage; malformed flags named; errors in one sentence; nothing destructive unconfirmed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { runCli } from '../../src/cli/run-cli.js';
import { loadConfigFile } from '../../src/config/index.js';
import { openCore } from '../../src/core.js';
import { systemClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';
import { runGatehouse } from '../support/cli.js';
import { coreConfigYaml } from '../support/core-fixture.js';
import { ROOT } from '../support/paths.js';

let dir: string;
let config: string;
const gatehouse = (args: string[]) => runGatehouse(args, { config, cwd: dir });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-product-'));
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
`,
    ),
  );
  expect((await gatehouse(['user', 'add', 'ann@acme.test', '--group', 'ops'])).code).toBe(0);
  expect((await gatehouse(['user', 'add', 'bob@acme.test', '--group', 'finance'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exit codes', () => {
  it('a user that already exists is a refusal (1), not bad usage (2)', async () => {
    const again = await gatehouse(['user', 'add', 'ann@acme.test']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('gatehouse: a user with email ann@acme.test already exists [user_exists]\n');
    expect((await gatehouse(['user', 'add', 'not an email'])).code).toBe(2);
  });

  it('a malformed flag value is usage (2) naming the flag, not an error of the operation', async () => {
    const port = await gatehouse(['init', '--dir', join(dir, 'demo'), '--port', '99999']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("option '--port <port>' argument '99999' is invalid");
    const hours = await gatehouse(['ip', 'block', '192.0.2.1', '--reason', 'x', '--hours', 'soon']);
    expect(hours.code).toBe(2);
    expect(hours.stderr).toContain("option '--hours <n>' argument 'soon' is invalid");
  });

  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await runGatehouse(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('errors read as one sentence', () => {
  it('a missing user is named once', async () => {
    const ghost = await gatehouse(['user', 'show', 'ghost@acme.test']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toBe('gatehouse: user ghost@acme.test was not found. [user_not_found]\n');
  });
});

describe('policy test refuses malformed input', () => {
  it.each([
    [['--ip', '999.1.1.1'], "option '--ip <ip>' argument '999.1.1.1' is invalid"],
    [['--ip', 'localhost'], "option '--ip <ip>' argument 'localhost' is invalid"],
    [['--auth-age', 'ten'], "option '--auth-age <minutes>' argument 'ten' is invalid"],
    [['--auth-age', '-5'], "option '--auth-age <minutes>' argument '-5' is invalid"],
    [['--method', 'FETCH'], "option '--method <method>' argument 'FETCH' is invalid"],
    [['--path', 'admin'], "option '--path <path>' argument 'admin' is invalid"],
    [['--amr', 'fingerprint'], '--amr fingerprint: expected one of'],
  ])('%j is exit 2', async (flags, message) => {
    const result = await gatehouse(['policy', 'test', '--app', 'payroll', '--user', 'ann@acme.test', ...flags]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('a well-formed request still gets its decision (exit 0, DENY included)', async () => {
    const allowed = await gatehouse(['policy', 'test', '--app', 'payroll', '--user', 'ann@acme.test', '--ip', '2001:db8::1', '--method', 'post', '--path', '/x', '--json']);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ outcome: 'allow', amr: ['hwk', 'mfa'] });
    const denied = await gatehouse(['policy', 'test', '--app', 'payroll', '--user', 'bob@acme.test', '--ip', '198.51.100.7']);
    expect(denied.code).toBe(0);
    expect(denied.stdout).toMatch(/^DENY/);
  });
});

describe('audit', () => {
  it('head prints the checkpoint key fingerprint that verify --checkpoint-key takes', async () => {
    const head = await gatehouse(['audit', 'head', '--json']);
    expect(head.code).toBe(0);
    const data = JSON.parse(head.stdout) as { anchor: string; checkpointKey: string; at: string };
    expect(data.checkpointKey).toMatch(/^SHA256:[0-9a-f]{64}$/);
    expect(data.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // The same key every time: pinned before any prune.
    expect(JSON.parse((await gatehouse(['audit', 'head', '--json'])).stdout)).toMatchObject({ checkpointKey: data.checkpointKey });
    expect((await gatehouse(['audit', 'verify', '--checkpoint-key', data.checkpointKey, '--anchor', data.anchor])).code).toBe(0);
    expect((await gatehouse(['audit', 'head'])).stdout).toContain(`checkpoint-key ${data.checkpointKey}\n`);
  });

  it('query refuses an unknown event type, suggesting the near one and listing the known', async () => {
    const typo = await gatehouse(['audit', 'query', '--type', 'user.creatd']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('--type "user.creatd" is not an audit event type (did you mean user.created?)');
    expect(typo.stderr).toContain('known types: ');
    expect(typo.stderr).toContain('sign_in');
    const nonsense = await gatehouse(['audit', 'query', '--type', 'nonsense']);
    expect(nonsense.code).toBe(2);
    expect(nonsense.stderr).not.toContain('did you mean');
    // A known type that never happened is an empty answer, not an error.
    expect(await gatehouse(['audit', 'query', '--type', 'incident.closed'])).toMatchObject({ code: 0, stdout: '' });
    const created = await gatehouse(['audit', 'query', '--type', 'user.created', '--json']);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout.split('\n')[0]!)).toMatchObject({ type: 'user.created', at: expect.stringMatching(/Z$/) });
  });
});

/** Signs ann in `count` times, through the store the CLI reads. */
async function issueSessions(count: number): Promise<void> {
  const core = await openCore(loadConfigFile(config), { clock: systemClock, random: cryptoRandom });
  try {
    const ann = await core.identity.users.require('ann@acme.test');
    for (let i = 0; i < count; i++) await core.identity.sessions.issue({ userId: ann.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.9', userAgent: 'test' });
  } finally {
    await core.close();
  }
}

describe('sessions revoke --all', () => {
  it('needs --yes; without it exit 2 saying how many sessions it would revoke', async () => {
    await issueSessions(2);
    const refused = await gatehouse(['sessions', 'revoke', '--all']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--all would revoke 2 active session(s) of every user: add --yes to confirm');
    expect(JSON.parse((await gatehouse(['sessions', 'list', '--json'])).stdout)).toHaveLength(2);
    const done = await gatehouse(['sessions', 'revoke', '--all', '--yes', '--json']);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({ revoked: 2 });
  });

  it('at a terminal, a typed yes confirms and anything else refuses', async () => {
    const atTerminal = async (answer: string) => {
      let stdout = '';
      let stderr = '';
      const stdin = Object.assign(Readable.from([answer]), { isTTY: true });
      const code = await runCli(['--config', config, 'sessions', 'revoke', '--all'], { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, stdin, env: {}, cwd: dir });
      return { code, stdout, stderr };
    };
    await issueSessions(1);
    const no = await atTerminal('no\n');
    expect(no.code).toBe(2);
    expect(no.stderr).toContain('--all would revoke 1 active session(s) of every user. Type yes to confirm: ');
    expect(no.stderr).toContain('add --yes to confirm');
    const yes = await atTerminal('yes\n');
    expect(yes).toMatchObject({ code: 0, stdout: '1 session(s) revoked\n' });
  });
});

describe('config check', () => {
  it('--json answers invalid files in JSON: every issue with its path, and the restart-only keys', async () => {
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, readFileSync(config, 'utf8').replace('  http: { host: "127.0.0.1", port: 0 }', '  http: { host: "127.0.0.1", port: 0, prot: 1 }').replace('webauthn:\n  rp_id:', 'webauthn:\n  rp_nmae: x\n  rp_id:'));
    const result = await gatehouse(['config', 'check', typo, '--json']);
    expect(result.code).toBe(2);
    const data = JSON.parse(result.stdout) as { valid: boolean; issues: { path: string; message: string }[]; restartOnly: { path: string }[] };
    expect(data.valid).toBe(false);
    expect(data.issues).toEqual([
      { path: 'server.http.prot', message: 'unknown key (did you mean "port"?)' },
      { path: 'webauthn.rp_nmae', message: 'unknown key (did you mean "rp_name"?)' },
    ]);
    expect(data.restartOnly.map((k) => k.path)).toContain('database');
    const text = await gatehouse(['config', 'check', typo]);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('server.http.prot: unknown key (did you mean "port"?)');

    const valid = JSON.parse((await gatehouse(['config', 'check', '--json'])).stdout) as { valid: boolean; issues: unknown[] };
    expect(valid).toMatchObject({ valid: true, issues: [] });
    const yaml = join(dir, 'broken.yaml');
    writeFileSync(yaml, 'server: [unclosed\n');
    expect(JSON.parse((await gatehouse(['config', 'check', yaml, '--json'])).stdout)).toMatchObject({ valid: false, issues: [{ path: null }] });
  });

  it('a valid file without a key-encryption key is valid, with a warning that serve will refuse it', async () => {
    const withKey = JSON.parse((await gatehouse(['config', 'check', '--json'])).stdout) as { valid: boolean; warnings: string[] };
    expect(withKey).toMatchObject({ valid: true, warnings: [] });
    const keyless = join(dir, 'keyless.yaml');
    writeFileSync(keyless, readFileSync(config, 'utf8').replace(/^ {2}key_encryption_key(_file)?: .*\n/m, ''));
    const json = await gatehouse(['config', 'check', keyless, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, warnings: [expect.stringContaining('`gatehouse serve` refuses to start without one')] });
    const text = await gatehouse(['config', 'check', keyless]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/: valid\nwarning: no key-encryption key \(server\.key_encryption_key_file or server\.key_encryption_key\)/);
  });
});

describe('domain check', () => {
  it.each([
    ['not a domain!', 'contains a space'],
    ['bad!.example', 'contains "!"'],
    ['a..example', 'empty label'],
    ['trail-.example', 'starts or ends with a hyphen'],
  ])('%j is exit 2 naming the problem', async (name, problem) => {
    const result = await gatehouse(['domain', 'check', '--offline', name]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${JSON.stringify(name)} is not a domain name: `);
    expect(result.stderr).toContain(problem);
    expect(result.stdout).toBe('');
  });

  it('real names, lookalikes in another script included, are checked', async () => {
    const result = await gatehouse(['domain', 'check', '--offline', 'example.com', 'pаypal.com.', '--json']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(2);
  });
});

describe('--json everywhere data is printed', () => {
  it('dns token, ip block/unblock and domain block/unblock print JSON', async () => {
    const token = await gatehouse(['dns', 'token', 'ann@acme.test', '--json']);
    expect(token.code).toBe(0);
    expect(JSON.parse(token.stdout)).toMatchObject({ email: 'ann@acme.test', url: expect.stringMatching(/^https?:\/\//) });
    expect(JSON.parse((await gatehouse(['ip', 'block', '192.0.2.0/24', '--reason', 'x', '--hours', '1', '--json'])).stdout)).toMatchObject({ blocked: '192.0.2.0/24', expiresAt: expect.stringMatching(/Z$/) });
    expect(JSON.parse((await gatehouse(['ip', 'unblock', '192.0.2.0/24', '--json'])).stdout)).toEqual({ cidr: '192.0.2.0/24', unblocked: true });
    expect(JSON.parse((await gatehouse(['domain', 'block', 'evil.example', '--reason', 'x', '--json'])).stdout)).toEqual({ blocked: ['evil.example'] });
    expect(JSON.parse((await gatehouse(['domain', 'unblock', 'evil.example', '--json'])).stdout)).toEqual({ unblocked: 1 });
  });

  it('lists are arrays, never joined strings', async () => {
    const apps = JSON.parse((await gatehouse(['apps', 'list', '--json'])).stdout) as { policies: unknown }[];
    expect(apps[0]!.policies).toEqual([{ name: 'staff', action: 'allow' }]);
  });
});
