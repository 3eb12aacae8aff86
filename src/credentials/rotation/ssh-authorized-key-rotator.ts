import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cryptoRandom, type Random } from '../../lib/random.js';
import type { AuthorizedKeysChannel } from './authorized-keys-channel.js';
import { generateOpenSshEd25519Key, publicKeyBlobOf } from './openssh-key.js';
import { replaceAuthorizedKey } from './replace-authorized-key.js';
import { rotationError } from './rotation-error.js';
import type { RotationContext, RotationOutcome, RotationTarget, Rotator } from './rotator.js';
import { isPublicKeyRefusal, runSsh, sshAnswer, sshDestinationProblem, type SshClientOptions, type SshDestination } from './ssh-client.js';
import { requireStaging, writeAheadStart, type LoginProbe } from './write-ahead.js';

/**
 * A sink hands back a key without its final newline (it strips one, as for a typed password), and
 * OpenSSH refuses to load a key file without it ("error in libcrypto"): the key would not even be
 * offered, and a live key would look refused.
 */
function withFinalNewline(key: Buffer): Buffer {
  return key[key.length - 1] === 0x0a ? key : Buffer.concat([key, Buffer.from('\n')]);
}

export interface SshAuthorizedKeyRotatorOptions {
  /** Reads and rewrites authorized_keys on the target host. */
  channel: AuthorizedKeysChannel;
  /** known_hosts with the target hosts' keys; a host not in it fails the probe (no trust on first use). */
  knownHostsFile: string;
  sshBinary?: string;
  random?: Random;
  /** Bound on each ssh run. */
  timeoutMs?: number;
  /** Where private keys are written for the probes (a fresh 0700 folder per run, removed after). */
  workDir?: string;
}

/**
 * Replaces the key a service logs into a host with, and proves with the real `ssh` client that the
 * host now refuses the old key and accepts the new one.
 *
 * Before changing anything the old key must log in: a refusal afterwards is evidence only if the key
 * the campaign holds was the one the host accepted. The private keys for the probes sit in a fresh
 * folder with nothing beside them: `ssh -i key` silently loads a `key-cert.pub` next to the key, and a
 * certificate would log in where the bare key is refused.
 */
export function createSshAuthorizedKeyRotator(options: SshAuthorizedKeyRotatorOptions): Rotator {
  const { channel, knownHostsFile, sshBinary = 'ssh', random = cryptoRandom, timeoutMs = 15_000, workDir = tmpdir() } = options;
  const client: SshClientOptions = { sshBinary, knownHostsFile, timeoutMs };

  function validate(target: RotationTarget): string | undefined {
    const problem = sshDestinationProblem(target.locator);
    if (problem) return problem;
    const unknown = Object.keys(target.locator).filter((key) => !['host', 'port', 'user'].includes(key));
    if (unknown.length > 0) return `locator has unknown keys: ${unknown.join(', ')}`;
    return undefined;
  }

  function destinationOf(target: RotationTarget): SshDestination {
    const problem = validate(target);
    if (problem) throw rotationError('rotation_invalid_locator', `ssh-authorized-key ${target.itemId}: ${problem}`);
    const { host, port, user } = target.locator as Record<'host' | 'user', string> & { port?: string };
    return { host, user, port: port === undefined ? 22 : Number(port) };
  }

  function where(destination: SshDestination): string {
    return `${destination.user}@${destination.host}:${destination.port}`;
  }

  async function oldKeyOf(target: RotationTarget, context: RotationContext): Promise<{ key: Buffer; blob: string }> {
    const previous = await context.previousSecret?.(target);
    if (!previous || previous.length === 0) {
      throw rotationError('rotation_probe_impossible', `ssh-authorized-key ${target.itemId}: the previous private key is not available, so the probe cannot present it`);
    }
    const publicKey = publicKeyBlobOf(previous);
    if (!publicKey) {
      throw rotationError('rotation_invalid_previous_secret', `ssh-authorized-key ${target.itemId}: the previous secret is not a private key ssh can use (OpenSSH, or PEM RSA/ed25519)`);
    }
    return { key: withFinalNewline(previous), blob: publicKey.blob };
  }

  /** Runs `fn` with a private folder for key files, removed afterwards whatever happens. */
  async function withKeyFolder<T>(fn: (write: (name: string, key: Buffer | string) => Promise<string>) => Promise<T>): Promise<T> {
    const folder = await mkdtemp(join(workDir, 'gatehouse-ssh-rotation-'));
    try {
      return await fn(async (name, key) => {
        const path = join(folder, name);
        await writeFile(path, key, { mode: 0o600 });
        return path;
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  /** A login with `keyFile`, as evidence: sshd accepted it, refused the key itself, or gave no answer. */
  async function probeLogin(destination: SshDestination, keyFile: string): Promise<LoginProbe> {
    const result = await runSsh(client, destination, keyFile, 'true');
    return { accepted: result.exitCode === 0, refused: result.exitCode !== 0 && isPublicKeyRefusal(result), answer: sshAnswer(result) };
  }

  /** The old key must be refused by sshd itself; a timeout or a network error is not evidence. */
  async function probeOldRefused(target: RotationTarget, destination: SshDestination, oldKeyFile: string): Promise<string> {
    const after = await runSsh(client, destination, oldKeyFile, 'true');
    if (after.exitCode === 0) {
      throw rotationError('rotation_old_credential_accepted', `ssh-authorized-key ${target.itemId}: the old key still logs in to ${where(destination)}`);
    }
    if (!isPublicKeyRefusal(after)) {
      throw rotationError('rotation_probe_failed', `ssh-authorized-key ${target.itemId}: the old-key probe at ${where(destination)} answered ${sshAnswer(after)}, not a public-key refusal`);
    }
    return sshAnswer(after);
  }

  async function rotate(target: RotationTarget, context: RotationContext): Promise<RotationOutcome> {
    const destination = destinationOf(target);
    const old = await oldKeyOf(target, context);
    const staging = requireStaging(`ssh-authorized-key ${target.itemId}`, context);
    return withKeyFolder(async (write) => {
      const oldKeyFile = await write('old', old.key);
      // Before changing anything the old key must log in, unless an earlier call was interrupted after
      // the change: then the key it staged logs in instead, and is delivered (see writeAheadStart).
      const start = await writeAheadStart({
        who: `ssh-authorized-key ${target.itemId} at ${where(destination)}`,
        target,
        staging,
        probePrevious: () => probeLogin(destination, oldKeyFile),
        probeStaged: async (staged) => probeLogin(destination, await write('staged', withFinalNewline(staged))),
        previousNotAccepted: (before) =>
          rotationError(
            before.refused ? 'rotation_previous_secret_refused' : 'rotation_probe_failed',
            `ssh-authorized-key ${target.itemId}: the previous key does not log in to ${where(destination)} before rotation (${before.answer}), so its refusal afterwards would prove nothing`,
          ),
      });

      let privateKey: Buffer;
      let removed = 0;
      if (start.recover) privateKey = start.recover;
      else {
        const fresh = generateOpenSshEd25519Key(random, `gatehouse-rotated-${target.itemId.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
        privateKey = Buffer.from(fresh.privateKey);
        // Write-ahead: on disk before authorized_keys changes, so no crash can leave a key only the host accepts.
        await staging.stage(target, privateKey);
        let current = await channel.read(destination);
        // A stale staged key was never delivered: if a partial change left it installed, nobody may keep it.
        const staleBlob = start.staleDiscarded ? publicKeyBlobOf(start.staleDiscarded)?.blob : undefined;
        // (It is the previous key itself when a delivery completed but the discard did not: removed below.)
        if (staleBlob && staleBlob !== old.blob) current = replaceAuthorizedKey(current, { removeBlob: staleBlob }).content;
        const replaced = replaceAuthorizedKey(current, { removeBlob: old.blob, addLine: fresh.publicKeyLine });
        removed = replaced.removed;
        await channel.write(destination, replaced.content);
      }
      const deliveredTo = await context.deliverSecret(target, privateKey);
      await staging.discard(target);

      const answer = await probeOldRefused(target, destination, oldKeyFile);
      const at = context.now();
      const newKeyFile = await write('new', withFinalNewline(privateKey));
      const check = await runSsh(client, destination, newKeyFile, 'true');
      if (check.exitCode !== 0) {
        throw rotationError('rotation_new_credential_fails', `ssh-authorized-key ${target.itemId}: the new key does not log in to ${where(destination)} (${sshAnswer(check)})`);
      }
      return {
        rotatedAt: at,
        deliveredTo,
        evidence: {
          kind: 'old_credential_refused',
          at,
          detail: {
            probe: 'ssh publickey login',
            server: where(destination),
            answer,
            previousAcceptedBefore: true,
            linesRemoved: removed,
            newCredential: 'accepted',
            ...(start.recover ? { recoveredStagedSecret: true } : {}),
            ...(start.staleDiscarded ? { staleStagedSecretDiscarded: true } : {}),
          },
        },
      };
    });
  }

  async function revoke(target: RotationTarget, context: RotationContext): Promise<RotationOutcome> {
    const destination = destinationOf(target);
    const old = await oldKeyOf(target, context);
    return withKeyFolder(async (write) => {
      const oldKeyFile = await write('old', old.key);
      let current = await channel.read(destination);
      // A key staged by an interrupted rotation may be installed though never delivered: it goes too.
      const staged = await context.staging?.staged(target);
      const stagedBlob = staged ? publicKeyBlobOf(staged)?.blob : undefined;
      if (stagedBlob && stagedBlob !== old.blob) current = replaceAuthorizedKey(current, { removeBlob: stagedBlob }).content;
      const { content, removed } = replaceAuthorizedKey(current, { removeBlob: old.blob });
      await channel.write(destination, content);
      if (staged) await context.staging?.discard(target);
      const answer = await probeOldRefused(target, destination, oldKeyFile);
      const at = context.now();
      return {
        rotatedAt: at,
        deliveredTo: 'none',
        evidence: { kind: 'revocation_probed', at, detail: { probe: 'ssh publickey login', server: where(destination), answer, linesRemoved: removed } },
      };
    });
  }

  return { name: 'ssh-authorized-key', validate, rotate, revoke };
}
