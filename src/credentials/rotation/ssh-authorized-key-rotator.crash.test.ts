/**
 * A crash between the authorized_keys write and the delivery must not lose the only key that logs in:
 * the new key is staged (`<file>.pending`, 0600) first, and the next call delivers it. A real sshd, the
 * real directory sink, faults injected through the sink interface.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findExecutable, haveCommand } from '../../../test/peers.js';
import { codeOf } from '../../../test/support/error-code.js';
import { cryptoRandom } from '../../lib/random.js';
import { createLocalAuthorizedKeysChannel } from './authorized-keys-channel.js';
import type { RotationTarget } from './rotator.js';
import { runProcess } from './run-process.js';
import { createSshAuthorizedKeyRotator } from './ssh-authorized-key-rotator.js';
import { faultyDirectorySink, messagesOf } from './test-support/faulty-directory-sink.js';
import { startPrivateSshd, type PrivateSshd } from './test-support/private-sshd.js';

const sshd = findExecutable('sshd', ['/usr/sbin/sshd']);
const keygen = findExecutable('ssh-keygen');
const ssh = findExecutable('ssh');

let server: PrivateSshd | undefined;
if (haveCommand('sshd', ['/usr/sbin/sshd']) && haveCommand('ssh') && haveCommand('ssh-keygen') && sshd && keygen) {
  const started = await startPrivateSshd(sshd, keygen);
  if (typeof started === 'string') {
    if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: sshd (${started})`);
    process.stderr.write(`\n[SKIPPED] ssh-authorized-key crash recovery against a real sshd: ${started}\n`);
  } else server = started;
} else process.stderr.write('\n[SKIPPED] ssh-authorized-key crash recovery: sshd, ssh or ssh-keygen missing\n');

/** The base64 body of a private key: what must never show up in a message. */
const keyBody = (privateKey: Buffer | string) => privateKey.toString().split('\n').slice(1, 3).join('');

describe.runIf(server !== undefined)('ssh-authorized-key rotator: a crash between the change and the delivery', () => {
  const peer = server as PrivateSshd;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-crash-sink-'));
  afterAll(async () => {
    await peer.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Built in each test: a skipped suite is still collected, and has no sshd.
  const makeRotator = () =>
    createSshAuthorizedKeyRotator({
      channel: createLocalAuthorizedKeysChannel({ pathFor: () => peer.authorizedKeysFile }),
      knownHostsFile: peer.knownHostsFile,
      sshBinary: ssh as string,
      timeoutMs: 20_000,
    });

  async function loginExit(privateKey: Buffer | string): Promise<number | undefined> {
    const file = join(peer.dir, `probe-${cryptoRandom.uuid()}`);
    writeFileSync(file, privateKey.toString().endsWith('\n') ? privateKey : `${privateKey.toString()}\n`, { mode: 0o600 });
    const result = await runProcess(
      [ssh as string, '-F', '/dev/null', '-i', file, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
        '-o', `UserKnownHostsFile=${peer.knownHostsFile}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(peer.port), `${peer.user}@127.0.0.1`, 'true'],
      { timeoutMs: 20_000 },
    );
    return result.exitCode;
  }

  /** A key installed on the host whose private half is in the sink's file, as the service would read it. */
  async function keyInSink(name: string): Promise<{ target: RotationTarget; old: Buffer; file: string }> {
    const made = await peer.keygen(`${name}-old`);
    writeFileSync(peer.authorizedKeysFile, `${made.publicKeyLine}\n`);
    const old = readFileSync(made.privateKeyFile);
    const file = join(dir, `${name}.secret`);
    writeFileSync(file, old, { mode: 0o600 });
    return { target: { itemId: `id-${name}`, name, rotator: 'ssh-authorized-key', locator: { host: '127.0.0.1', port: String(peer.port), user: peer.user } }, old, file };
  }

  it('recovers on the next call by delivering the staged key, without a third one', async () => {
    const { target, old, file } = await keyInSink('deploy');
    const crashing = faultyDirectorySink(dir, { failDelivery: true });
    const failure = await makeRotator().rotate(target, crashing.context).catch((caught: unknown) => caught);
    expect((failure as { code?: string }).code).toBe('rotation_sink_failed');

    const pending = crashing.pendingOf(target);
    expect(statSync(pending).mode & 0o777).toBe(0o600);
    const staged = readFileSync(pending);
    expect(readFileSync(file)).toEqual(old);
    expect(await loginExit(old)).toBe(255);
    expect(await loginExit(staged)).toBe(0);
    const installed = readFileSync(peer.authorizedKeysFile, 'utf8');

    const outcome = await makeRotator().rotate(target, faultyDirectorySink(dir).context);
    expect(outcome.evidence).toMatchObject({ kind: 'old_credential_refused', detail: { recoveredStagedSecret: true, newCredential: 'accepted' } });
    expect(outcome.evidence.detail.answer).toMatch(/Permission denied \(publickey\)/);
    expect(readFileSync(peer.authorizedKeysFile, 'utf8')).toBe(installed);
    expect(readFileSync(file)).toEqual(staged);
    expect(existsSync(pending)).toBe(false);
    expect(await loginExit(readFileSync(file))).toBe(0);
    for (const text of [messagesOf(failure), JSON.stringify(outcome)]) {
      expect(text).not.toContain(keyBody(old));
      expect(text).not.toContain(keyBody(staged));
    }
  });

  it('discards a key staged by an attempt that died before the change, and rotates afresh', async () => {
    const { target, old, file } = await keyInSink('builder');
    const crashing = faultyDirectorySink(dir, { crashAfterStage: true });
    expect(await codeOf(makeRotator().rotate(target, crashing.context))).toBe('rotation_staging_failed');
    const stale = readFileSync(crashing.pendingOf(target));
    expect(await loginExit(old)).toBe(0);

    const outcome = await makeRotator().rotate(target, faultyDirectorySink(dir).context);
    expect(outcome.evidence.detail).toMatchObject({ staleStagedSecretDiscarded: true, newCredential: 'accepted' });
    expect(readFileSync(file)).not.toEqual(stale);
    expect(existsSync(crashing.pendingOf(target))).toBe(false);
    expect(await loginExit(readFileSync(file))).toBe(0);
    expect(await loginExit(stale)).toBe(255);
    expect(await loginExit(old)).toBe(255);
  });

  it('a staged key found installed beside a live previous key is removed, by a fresh rotation and by a revocation', async () => {
    for (const action of ['rotate', 'revoke'] as const) {
      const { target, old, file } = await keyInSink(`leftover-${action}`);
      const strayPair = await peer.keygen(`leftover-${action}-staged`);
      // A write-ahead whose key reached authorized_keys while the old key stayed (a hand edit, a partial write).
      writeFileSync(peer.authorizedKeysFile, `${readFileSync(peer.authorizedKeysFile, 'utf8')}${strayPair.publicKeyLine}\n`);
      const { context, pendingOf } = faultyDirectorySink(dir);
      await context.staging!.stage(target, readFileSync(strayPair.privateKeyFile));
      expect(await loginExit(readFileSync(strayPair.privateKeyFile))).toBe(0);

      const outcome = action === 'rotate' ? await makeRotator().rotate(target, context) : await makeRotator().revoke(target, context);
      expect(outcome.evidence.kind).toBe(action === 'rotate' ? 'old_credential_refused' : 'revocation_probed');
      expect(await loginExit(readFileSync(strayPair.privateKeyFile))).toBe(255);
      expect(await loginExit(old)).toBe(255);
      expect(existsSync(pendingOf(target))).toBe(false);
      expect(readFileSync(peer.authorizedKeysFile, 'utf8')).not.toContain(strayPair.publicKeyLine.split(' ')[1]);
      if (action === 'rotate') expect(await loginExit(readFileSync(file))).toBe(0);
    }
  });

  it('stops, naming both refusals, when neither the previous nor the staged key logs in', async () => {
    const { target, old } = await keyInSink('orphan');
    const crashing = faultyDirectorySink(dir, { failDelivery: true });
    await makeRotator().rotate(target, crashing.context).catch(() => undefined);
    const staged = readFileSync(crashing.pendingOf(target));
    const elsewhere = await peer.keygen('orphan-by-hand');
    writeFileSync(peer.authorizedKeysFile, `${elsewhere.publicKeyLine}\n`);

    const error = await makeRotator().rotate(target, faultyDirectorySink(dir).context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('rotation_previous_and_staged_secret_refused');
    expect(messagesOf(error)).not.toContain(keyBody(old));
    expect(messagesOf(error)).not.toContain(keyBody(staged));
    expect(readFileSync(peer.authorizedKeysFile, 'utf8')).toBe(`${elsewhere.publicKeyLine}\n`);
  });
});
