import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findExecutable, haveCommand } from '../../../test/peers.js';
import { codeOf } from '../../../test/support/error-code.js';
import { cryptoRandom } from '../../lib/random.js';
import { createLocalAuthorizedKeysChannel, createSshAuthorizedKeysChannel, type AuthorizedKeysChannel } from './authorized-keys-channel.js';
import { generateOpenSshEd25519Key, publicKeyBlobOf } from './openssh-key.js';
import { replaceAuthorizedKey } from './replace-authorized-key.js';
import type { RotationContext, RotationTarget } from './rotator.js';
import { memoryStaging } from './test-support/memory-staging.js';
import { runProcess } from './run-process.js';
import { createSshAuthorizedKeyRotator } from './ssh-authorized-key-rotator.js';
import { startPrivateSshd, type PrivateSshd } from './test-support/private-sshd.js';

describe('replaceAuthorizedKey', () => {
  const a = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAA old@laptop';
  const b = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBB other';
  it('removes every line with the blob, options or not, and appends the new line once', () => {
    const content = `# keep me\n${a}\nfrom="10.0.0.1,10.0.0.2",command="echo hi there" ${a.replace(' old@laptop', '')}\n${b}\n`;
    const next = replaceAuthorizedKey(content, { removeBlob: 'AAAAC3NzaC1lZDI1NTE5AAAAIAAAA', addLine: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICCCC new' });
    expect(next.removed).toBe(2);
    expect(next.content).toBe(`# keep me\n${b}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICCCC new\n`);
    expect(replaceAuthorizedKey(next.content, { addLine: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICCCC new' }).content).toBe(next.content);
  });
});

const sshd = findExecutable('sshd', ['/usr/sbin/sshd']);
const keygen = findExecutable('ssh-keygen');
const ssh = findExecutable('ssh');
const havePeers = haveCommand('sshd', ['/usr/sbin/sshd']) && haveCommand('ssh') && haveCommand('ssh-keygen');

let server: PrivateSshd | undefined;
if (havePeers && sshd && keygen) {
  const started = await startPrivateSshd(sshd, keygen);
  if (typeof started === 'string') {
    if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: sshd (${started})`);
    process.stderr.write(`\n[SKIPPED] ssh-authorized-key rotation against a real sshd: ${started}\n`);
  } else server = started;
}

function contextWith(previous: Buffer | undefined) {
  const delivered: Buffer[] = [];
  const context: RotationContext = {
    now: () => 1_700_000_000_000,
    deliverSecret: async (target, secret) => {
      delivered.push(Buffer.from(secret));
      return `memory:${target.itemId}`;
    },
    previousSecret: async () => previous,
    staging: memoryStaging(),
  };
  return { context, delivered };
}

function messagesOf(error: unknown): string {
  const out: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    out.push(current.message, String((current as { detail?: unknown }).detail ?? ''), current.stack ?? '');
    current = current.cause;
  }
  return out.join('\n');
}

/** The base64 body of a private key: what must never show up in a message. */
function keyBody(privateKey: Buffer | string): string {
  return privateKey.toString().split('\n').slice(1, 3).join('');
}

describe.runIf(server !== undefined)('ssh-authorized-key rotator against a real sshd', () => {
  const peer = server as PrivateSshd;
  afterAll(async () => {
    await peer.stop();
  });
  const target: RotationTarget = { itemId: 'deploy-key', rotator: 'ssh-authorized-key', locator: { host: '127.0.0.1', port: String(peer.port), user: peer.user } };
  const local = createLocalAuthorizedKeysChannel({ pathFor: () => peer.authorizedKeysFile });

  async function login(privateKey: Buffer | string): Promise<{ exitCode: number | undefined; stderr: string }> {
    const file = join(peer.dir, `probe-${cryptoRandom.uuid()}`);
    writeFileSync(file, privateKey, { mode: 0o600 });
    const result = await runProcess(
      [ssh as string, '-F', '/dev/null', '-i', file, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
        '-o', `UserKnownHostsFile=${peer.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(peer.port), `${peer.user}@127.0.0.1`, 'true'],
      { timeoutMs: 20_000 },
    );
    return { exitCode: result.exitCode, stderr: result.stderr };
  }

  function rotatorWith(channel: AuthorizedKeysChannel, knownHostsFile = peer.knownHostsFile) {
    return createSshAuthorizedKeyRotator({ channel, knownHostsFile, sshBinary: ssh as string, timeoutMs: 20_000 });
  }

  it('writes private keys OpenSSH loads, and reads public keys as ssh-keygen does', async () => {
    const pair = generateOpenSshEd25519Key(cryptoRandom, 'format-check');
    const file = join(peer.dir, 'generated');
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    const derived = await runProcess([keygen as string, '-y', '-f', file], { timeoutMs: 20_000 });
    expect(derived.stdout.trim()).toBe(pair.publicKeyLine);
    for (const type of ['ed25519', 'rsa'] as const) {
      const made = await peer.keygen(`format-${type}`, type);
      expect(publicKeyBlobOf(readFileSync(made.privateKeyFile))?.blob).toBe(made.publicKeyLine.split(' ')[1]);
    }
    expect(publicKeyBlobOf(Buffer.from('not a key'))).toBeUndefined();
  });

  it('rotates over the local channel: the old key is refused by sshd, the new one logs in, other keys stay', async () => {
    const old = await peer.keygen('old-local');
    const bystander = await peer.keygen('bystander');
    const oldBlob = old.publicKeyLine.split(' ').slice(0, 2).join(' ');
    writeFileSync(peer.authorizedKeysFile, `${old.publicKeyLine}\nfrom="127.0.0.1" ${oldBlob}\n${bystander.publicKeyLine}\n`);
    const oldKey = readFileSync(old.privateKeyFile);
    expect((await login(oldKey)).exitCode).toBe(0);

    const { context, delivered } = contextWith(oldKey);
    const outcome = await rotatorWith(local).rotate(target, context);
    expect(outcome.deliveredTo).toBe('memory:deploy-key');
    expect(outcome.evidence).toMatchObject({ kind: 'old_credential_refused', at: 1_700_000_000_000 });
    expect(outcome.evidence.detail.answer).toMatch(/^exit 255: .*Permission denied \(publickey\)/);
    expect(outcome.evidence.detail.linesRemoved).toBe(2);
    const newKey = delivered[0] as Buffer;
    expect(newKey.toString()).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    // Independently, with the real client:
    const refused = await login(oldKey);
    expect(refused.exitCode).toBe(255);
    expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
    expect((await login(newKey)).exitCode).toBe(0);
    expect((await login(readFileSync(bystander.privateKeyFile))).exitCode).toBe(0);
    expect(JSON.stringify(outcome)).not.toContain(keyBody(newKey));
    expect(JSON.stringify(outcome)).not.toContain(keyBody(oldKey));
  });

  it('rotates a key handed back without its final newline (a directory sink strips one), which OpenSSH would not load', async () => {
    const old = await peer.keygen('old-trimmed');
    writeFileSync(peer.authorizedKeysFile, `${old.publicKeyLine}\n`);
    const trimmed = readFileSync(old.privateKeyFile).subarray(0, -1);
    expect(trimmed.at(-1)).not.toBe(0x0a);
    const { context, delivered } = contextWith(trimmed);
    const outcome = await rotatorWith(local).rotate(target, context);
    expect(outcome.evidence).toMatchObject({ kind: 'old_credential_refused' });
    expect((await login(delivered[0] as Buffer)).exitCode).toBe(0);
  });

  it('rotates over an SSH admin channel with a separate admin key', async () => {
    const adminKey = await peer.keygen('admin');
    const old = await peer.keygen('old-remote');
    writeFileSync(peer.authorizedKeysFile, `${adminKey.publicKeyLine}\n${old.publicKeyLine}\n`);
    const channel = createSshAuthorizedKeysChannel({ sshBinary: ssh as string, knownHostsFile: peer.knownHostsFile, identityFile: adminKey.privateKeyFile, authorizedKeysPath: peer.authorizedKeysFile, timeoutMs: 20_000 });
    const oldKey = readFileSync(old.privateKeyFile);
    const { context, delivered } = contextWith(oldKey);
    const outcome = await rotatorWith(channel).rotate(target, context);
    expect(outcome.evidence.kind).toBe('old_credential_refused');
    expect((await login(oldKey)).exitCode).toBe(255);
    expect((await login(delivered[0] as Buffer)).exitCode).toBe(0);
    expect((await login(readFileSync(adminKey.privateKeyFile))).exitCode).toBe(0);
  });

  it('revokes and probes the refusal', async () => {
    const old = await peer.keygen('old-revoke');
    writeFileSync(peer.authorizedKeysFile, `${old.publicKeyLine}\n`);
    const oldKey = readFileSync(old.privateKeyFile);
    const outcome = await rotatorWith(local).revoke(target, contextWith(oldKey).context);
    expect(outcome).toMatchObject({ deliveredTo: 'none', evidence: { kind: 'revocation_probed' } });
    expect(readFileSync(peer.authorizedKeysFile, 'utf8')).toBe('');
    expect((await login(oldKey)).exitCode).toBe(255);
  });

  it('fails closed when the change did not take: the old key still logs in', async () => {
    const old = await peer.keygen('old-sticky');
    writeFileSync(peer.authorizedKeysFile, `${old.publicKeyLine}\n`);
    const oldKey = readFileSync(old.privateKeyFile);
    const ignoring: AuthorizedKeysChannel = { read: local.read, write: async () => undefined };
    const error = await rotatorWith(ignoring).rotate(target, contextWith(oldKey).context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('rotation_old_credential_accepted');
    expect(messagesOf(error)).not.toContain(keyBody(oldKey));
  });

  it('refuses when the key it holds was not the live one, and changes nothing', async () => {
    const installed = await peer.keygen('installed');
    const stale = await peer.keygen('stale');
    writeFileSync(peer.authorizedKeysFile, `${installed.publicKeyLine}\n`);
    const { context, delivered } = contextWith(readFileSync(stale.privateKeyFile));
    expect(await codeOf(rotatorWith(local).rotate(target, context))).toBe('rotation_previous_secret_refused');
    expect(delivered).toHaveLength(0);
    expect(readFileSync(peer.authorizedKeysFile, 'utf8')).toBe(`${installed.publicKeyLine}\n`);
  });

  it('does not count an unreachable host or an unknown host key as evidence', async () => {
    const old = await peer.keygen('old-unreachable');
    writeFileSync(peer.authorizedKeysFile, `${old.publicKeyLine}\n`);
    const oldKey = readFileSync(old.privateKeyFile);
    const closed: RotationTarget = { ...target, locator: { ...target.locator, port: '1' } };
    const error = await rotatorWith(local).rotate(closed, contextWith(oldKey).context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('rotation_probe_failed');
    expect(messagesOf(error)).not.toContain(keyBody(oldKey));
    const emptyKnownHosts = join(peer.dir, 'known_hosts_empty');
    writeFileSync(emptyKnownHosts, '');
    expect(await codeOf(rotatorWith(local, emptyKnownHosts).rotate(target, contextWith(oldKey).context))).toBe('rotation_probe_failed');
    expect((await login(oldKey)).exitCode).toBe(0);
  });
});

describe('ssh-authorized-key rotator input checks', () => {
  const rotator = createSshAuthorizedKeyRotator({ channel: createLocalAuthorizedKeysChannel({ pathFor: () => '/nonexistent' }), knownHostsFile: '/dev/null' });
  const base = { itemId: 'k', rotator: 'ssh-authorized-key' };

  it('validates the locator, refusing what ssh could read as an option', async () => {
    expect(rotator.validate({ ...base, locator: { host: 'db1.internal', port: '22', user: 'deploy' } })).toBeUndefined();
    expect(rotator.validate({ ...base, locator: { host: '-oProxyCommand=touch /tmp/x', user: 'deploy' } })).toMatch(/host/);
    expect(rotator.validate({ ...base, locator: { host: 'h', user: '-l' } })).toMatch(/user/);
    expect(rotator.validate({ ...base, locator: { host: 'h', user: 'u', port: '70000' } })).toMatch(/port/);
    expect(rotator.validate({ ...base, locator: { host: 'h', user: 'u', key: 'x' } })).toMatch(/unknown keys: key/);
    expect(await codeOf(rotator.rotate({ ...base, locator: { host: '-oProxyCommand=x', user: 'u' } }, contextWith(undefined).context))).toBe('rotation_invalid_locator');
  });

  it('needs the previous private key, and one ssh can use', async () => {
    const target = { ...base, locator: { host: '127.0.0.1', user: 'u' } };
    expect(await codeOf(rotator.rotate(target, contextWith(undefined).context))).toBe('rotation_probe_impossible');
    expect(await codeOf(rotator.revoke(target, contextWith(undefined).context))).toBe('rotation_probe_impossible');
    const garbage = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n');
    const error = await rotator.rotate(target, contextWith(garbage).context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('rotation_invalid_previous_secret');
    expect(messagesOf(error)).not.toContain('AAAA\n');
  });
});
