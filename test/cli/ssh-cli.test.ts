/** `gatehouse ssh …` in-process: trust lines, rotation, host certificates and the operator's sign. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { haveCommand } from '../peers.js';
import { runGatehouse, runGatehouseProcess } from '../support/cli.js';
import { coreConfigYaml } from '../support/core-fixture.js';
import { keygen, run } from '../../src/ssh/test-support/ssh-peers.js';

const haveKeygen = haveCommand('ssh-keygen');
let dir: string;
let config: string;
const gatehouse = (args: string[]) => runGatehouse(args, { config, cwd: dir });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-cli-'));
  config = join(dir, 'gatehouse.yaml');
  writeFileSync(
    config,
    coreConfigYaml(
      `sqlite:${join(dir, 'store.db')}`,
      `ssh:
  user_cert_validity_minutes: 10
  principals:
    - { group: ops, logins: [deploy] }
`,
    ),
  );
  expect((await gatehouse(['user', 'add', 'ann@acme.test', '--group', 'ops'])).code).toBe(0);
  expect((await gatehouse(['user', 'add', 'bob@acme.test', '--group', 'finance'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('ca prints the TrustedUserCAKeys content and the @cert-authority line; rotate adds the new CA beside the old', async () => {
  const first = await gatehouse(['ssh', 'ca', '--host-pattern', '*.acme.test']);
  expect(first.code).toBe(0);
  const [caKey] = first.stdout.match(/^ssh-ed25519 \S+ gatehouse-ca-[0-9a-f]{16}$/m) ?? [];
  expect(caKey).toBeDefined();
  expect(first.stdout).toContain(`@cert-authority *.acme.test ${caKey}`);
  expect((await gatehouse(['ssh', 'ca', '--only', 'user-ca-keys'])).stdout).toBe(`${caKey}\n`);

  const rotated = await gatehouse(['ssh', 'ca', 'rotate', '--overlap', '2h', '--json']);
  expect(rotated.code).toBe(0);
  const result = JSON.parse(rotated.stdout) as { id: string; superseded: string[] };
  expect(caKey).toContain(`gatehouse-ca-${result.superseded[0]}`);
  const both = (await gatehouse(['ssh', 'ca', '--only', 'known-hosts', '--host-pattern', 'db1.acme.test'])).stdout.trim().split('\n');
  expect(both).toHaveLength(2);
  expect(both[0]).toContain(`gatehouse-ca-${result.id}`);
  expect(both[1]).toBe(`@cert-authority db1.acme.test ${caKey}`);
  expect((await gatehouse(['ssh', 'ca', 'rotate', '--overlap', '9999h'])).code).toBe(2);
});

it.runIf(haveKeygen)('host-cert signs a host public key and refuses a private key file', async () => {
  const host = await keygen(dir, 'ssh_host_ed25519_key');
  const out = join(dir, 'ssh_host_ed25519_key-cert.pub');
  const signed = await gatehouse(['ssh', 'host-cert', '--host-key', `${host.privateKeyFile}.pub`, '--principal', 'db1.acme.test', '--out', out]);
  expect(signed.code).toBe(0);
  const shown = await run(['ssh-keygen', '-L', '-f', out]);
  expect(shown.stdout).toContain('host certificate');
  expect(shown.stdout).toContain('db1.acme.test');
  const wrong = await gatehouse(['ssh', 'host-cert', '--host-key', host.privateKeyFile, '--principal', 'db1.acme.test']);
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toContain('[usage]');
  expect(wrong.stderr).not.toContain(readFileSync(host.privateKeyFile, 'utf8').split('\n')[1]);
});

it.runIf(haveKeygen)('sign issues an operator certificate audited as cli, and refuses a user without a login', async () => {
  const key = await keygen(dir, 'id_ann');
  const signed = await gatehouse(['ssh', 'sign', '--user', 'ann@acme.test', '--public-key', `${key.privateKeyFile}.pub`, '--json']);
  expect(signed.code).toBe(0);
  const issued = JSON.parse(signed.stdout) as { keyId: string; principals: string[]; certificate: string };
  expect(issued).toMatchObject({ keyId: 'gatehouse:ann@acme.test:cli', principals: ['deploy'] });
  expect(issued.certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com /);
  const audit = await gatehouse(['audit', 'query', '--type', 'ssh.certificate_issued']);
  const events = audit.stdout.trim().split('\n').map((line) => JSON.parse(line) as { actor: string; detail: Record<string, unknown> });
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ actor: 'cli', detail: { user: 'ann@acme.test', principals: ['deploy'], key_id: 'gatehouse:ann@acme.test:cli', auth_method: 'cli' } });

  const refused = await gatehouse(['ssh', 'sign', '--user', 'bob@acme.test', '--public-key', `${key.privateKeyFile}.pub`]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('[ssh_no_principal]');

  expect((await gatehouse(['user', 'disable', 'ann@acme.test'])).code).toBe(0);
  const disabled = await gatehouse(['ssh', 'sign', '--user', 'ann@acme.test', '--public-key', `${key.privateKeyFile}.pub`]);
  expect(disabled.code).toBe(1);
  expect(disabled.stderr).toContain('[user_disabled]');
  expect((await gatehouse(['user', 'enable', 'ann@acme.test'])).code).toBe(0);
});

it.runIf(haveKeygen)('as a process: trust lines exit 0, a refused issuance exits 1 with its code', async () => {
  const lines = await runGatehouseProcess(['ssh', 'ca', '--only', 'known-hosts', '--host-pattern', '*.acme.test'], { config, cwd: dir });
  expect(lines.code).toBe(0);
  expect(lines.stdout).toMatch(/^@cert-authority \*\.acme\.test ssh-ed25519 /);
  const key = await keygen(dir, 'id_bob');
  const refused = await runGatehouseProcess(['ssh', 'sign', '--user', 'bob@acme.test', '--public-key', `${key.privateKeyFile}.pub`], { config, cwd: dir });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('[ssh_no_principal]');
});
