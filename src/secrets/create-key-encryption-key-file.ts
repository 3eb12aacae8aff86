import { existsSync } from 'node:fs';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import { writeKeyEncryptionKeyFile } from './key-encryption-key-file.js';
import { generateKeyEncryptionKey } from './key-encryption-keys.js';

/**
 * Writes a new key file with one key, mode 0600. Never replaces an existing file: the keys in it may be
 * the only ones that open a database's signing keys and TOTP secrets.
 */
export function createKeyEncryptionKeyFile(path: string, deps: { random: Random; clock: Clock }): { keyId: string } {
  if (existsSync(path)) {
    throw new GatehouseError('kek_file_exists', {
      status: 409,
      publicMessage: `${path} already exists; refusing to replace a key-encryption key (use \`gatehouse secrets rotate-kek\` to rotate it).`,
    });
  }
  const key = generateKeyEncryptionKey(deps.random, deps.clock.now());
  writeKeyEncryptionKeyFile(path, { primary: key.id, keys: [key] }, { exclusive: true });
  return { keyId: key.id };
}
