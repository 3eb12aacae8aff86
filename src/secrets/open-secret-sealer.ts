import { resolve } from 'node:path';
import type { Random } from '../lib/random.js';
import { keyFileStamp, readKeyEncryptionKeyFile } from './key-encryption-key-file.js';
import { parseKeyEncryptionKeys } from './key-encryption-keys.js';
import { createSecretSealer, createUnavailableSealer, type SecretSealer } from './secret-sealer.js';

export interface KeyEncryptionKeySettings {
  /** Path of the key file (relative to the config's folder). */
  key_encryption_key_file?: string | undefined;
  /** The key ring itself, normally `${env:NAME}`. */
  key_encryption_key?: string | undefined;
}

/** The absolute path of the configured key file, if the KEK comes from a file. */
export function keyEncryptionKeyFileOf(settings: KeyEncryptionKeySettings, baseDir: string): string | undefined {
  return settings.key_encryption_key_file === undefined ? undefined : resolve(baseDir, settings.key_encryption_key_file);
}

/**
 * The sealer for a configuration: from the key file (re-read when it changes, so a rotation reaches a
 * running server), from the inline key, or one that refuses (`kek_not_configured`) when neither is set.
 * A bad or over-permissive file fails here, at start-up.
 */
export function openSecretSealer(settings: KeyEncryptionKeySettings, baseDir: string, random: Random): SecretSealer {
  const path = keyEncryptionKeyFileOf(settings, baseDir);
  if (path !== undefined) {
    // Read first: a missing or over-permissive file is refused with its own code and the fix.
    const keys = readKeyEncryptionKeyFile(path);
    let stamp = keyFileStamp(path);
    return createSecretSealer({
      keys,
      random,
      source: path,
      refresh() {
        let now: string;
        try {
          now = keyFileStamp(path);
        } catch {
          // Mid-rename or removed: keep the keys in memory; the next call looks again.
          return undefined;
        }
        if (now === stamp) return undefined;
        const next = readKeyEncryptionKeyFile(path);
        stamp = now;
        return next;
      },
    });
  }
  if (settings.key_encryption_key !== undefined) {
    return createSecretSealer({ keys: parseKeyEncryptionKeys(settings.key_encryption_key, 'server.key_encryption_key'), random, source: 'server.key_encryption_key' });
  }
  return createUnavailableSealer();
}
