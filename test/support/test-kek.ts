/**
 * Key-encryption keys for tests: fixed, so every fixture config and in-process core seals and opens
 * with the same key at no cost (no file, no permission check). Never used outside tests.
 */
import { cryptoRandom } from '../../src/lib/random.js';
import { createSecretSealer, parseKeyEncryptionKeys, type SecretSealer } from '../../src/secrets/index.js';

/** One base64url AES-256 key, the form `server.key_encryption_key` accepts. */
export const TEST_KEY_ENCRYPTION_KEY = Buffer.alloc(32, 0x4b).toString('base64url');
/** Another key: "the wrong key file". */
export const OTHER_KEY_ENCRYPTION_KEY = Buffer.alloc(32, 0x57).toString('base64url');

export function testSealer(key = TEST_KEY_ENCRYPTION_KEY): SecretSealer {
  return createSecretSealer({ keys: parseKeyEncryptionKeys(key, 'test'), random: cryptoRandom, source: 'test key' });
}
