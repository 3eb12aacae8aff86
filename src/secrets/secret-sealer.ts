import { createCipheriv, createDecipheriv } from 'node:crypto';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { KeyEncryptionKey, KeyEncryptionKeys } from './key-encryption-keys.js';

/**
 * Envelope encryption of the private keys Gatehouse keeps in its database (identity-JWT signing keys,
 * the audit checkpoint key, the server secret that keys its HMACs, TOTP secrets, SSH CA keys), under a
 * key-encryption key (KEK) kept outside it.
 *
 * Threat model. The KEK defends against someone who obtains a copy of the database (a backup, a dump,
 * a replica, a read-only SQL injection) but not the KEK: they learn public keys, hashes and sealed
 * blobs, but cannot mint identity tokens, sign audit checkpoints (so cannot prune and re-anchor the
 * log) or generate TOTP codes. It does not defend against someone who runs code as the service
 * account (they read the KEK too), and only partly against someone who can write the database: they
 * cannot forge a sealed value, nor move one to another row (below), but they can delete values.
 *
 * Sealed value: `gh-sealed.v1.<kid>.<nonce>.<ciphertext||tag>` (base64url parts). AES-256-GCM
 * (NIST SP 800-38D) with a 96-bit nonce from the injected Random (§8.2.2: random nonces are safe far
 * beyond the few thousand values a deployment ever seals under one key). The additional data binds
 * the format version, the key id and a context naming the value's purpose and row
 * (`jwt-signing-key:<kid>`, `totp:<userId>`): a sealed value copied into another row, another user's
 * TOTP secret say, fails authentication instead of opening there.
 */
export interface SecretSealer {
  /** Whether a KEK is configured (CLI commands that need none, `audit verify`, run without one). */
  readonly available: boolean;
  /** Where the KEK came from, for messages: a file path, a config key, or "not configured". */
  readonly source: string;
  /** The key new values are sealed under. */
  primaryKeyId(): string;
  seal(plaintext: Buffer | string, context: string): string;
  /** Opens a value sealed for exactly this context; throws a `sealed_value_*` or `kek_*` code otherwise. */
  unseal(sealed: string, context: string): Buffer;
}

const PREFIX = 'gh-sealed.v1.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Whether a stored value is in the sealed format (legacy rows hold the plaintext). */
export function isSealedValue(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** The id of the KEK a value is sealed under; undefined for anything not in the sealed format. */
export function sealedKeyIdOf(value: string): string | undefined {
  if (!isSealedValue(value)) return undefined;
  return value.slice(PREFIX.length).split('.')[0];
}

function additionalData(kid: string, context: string): Buffer {
  return Buffer.from(`gatehouse.sealed.v1\0${kid}\0${context}`, 'utf8');
}

function sealedError(code: string, context: string, detail: string): GatehouseError {
  return new GatehouseError(code, { status: 500, publicMessage: 'A sealed secret could not be opened.', detail: `${context}: ${detail}` });
}

/**
 * A sealer over a key ring. `refresh` (optional) re-reads the ring when its source changed: called
 * before sealing and when a value names a key the ring lacks, so a running server follows a rotation
 * (`gatehouse secrets rotate-kek`) of the file it was started with.
 */
export function createSecretSealer(options: { keys: KeyEncryptionKeys; random: Random; source: string; refresh?: () => KeyEncryptionKeys | undefined }): SecretSealer {
  const { random, source } = options;
  let ring = options.keys;
  const update = () => {
    const next = options.refresh?.();
    if (next) ring = next;
  };
  const keyById = (kid: string): KeyEncryptionKey | undefined => ring.keys.find((key) => key.id === kid);
  return {
    available: true,
    source,
    primaryKeyId: () => {
      update();
      return ring.primary;
    },
    seal(plaintext, context) {
      update();
      const key = keyById(ring.primary)!;
      const nonce = random.bytes(NONCE_BYTES);
      if (nonce.length !== NONCE_BYTES) throw new TypeError('random source returned a short nonce');
      const cipher = createCipheriv('aes-256-gcm', key.key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(key.id, context));
      const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final(), cipher.getAuthTag()]);
      return `${PREFIX}${key.id}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
    },
    unseal(sealed, context) {
      if (!isSealedValue(sealed)) {
        throw sealedError('sealed_value_plaintext', context, 'the stored value is not sealed; a plaintext private key is refused (it could have been written by anyone able to write the database)');
      }
      const parts = sealed.slice(PREFIX.length).split('.');
      if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) throw sealedError('sealed_value_invalid', context, 'malformed sealed value');
      const [kid, nonceText, bodyText] = parts as [string, string, string];
      let key = keyById(kid);
      if (!key) {
        update();
        key = keyById(kid);
      }
      if (!key) {
        throw sealedError(
          'sealed_value_unknown_key',
          context,
          `sealed under key-encryption key ${kid}, which ${source} does not hold (wrong key file, or the key was dropped before every value was re-sealed)`,
        );
      }
      const nonce = Buffer.from(nonceText, 'base64url');
      const body = Buffer.from(bodyText, 'base64url');
      if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw sealedError('sealed_value_invalid', context, 'malformed sealed value');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.key, nonce, { authTagLength: TAG_BYTES });
        decipher.setAAD(additionalData(kid, context));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
      } catch {
        // GCM verifies the tag in constant time; which of (tampered, moved from another row, wrong
        // key under the same id) it was cannot be told apart, and need not be.
        throw sealedError('sealed_value_auth_failed', context, `authentication failed under key ${kid}: the value was altered, or copied from another row`);
      }
    },
  };
}

/** The sealer of a process without a KEK: everything that needs one refuses with `kek_not_configured`. */
export function createUnavailableSealer(): SecretSealer {
  const refuse = (): never => {
    throw new GatehouseError('kek_not_configured', {
      status: 500,
      publicMessage:
        'No key-encryption key is configured, and this needs one. Create one with `gatehouse secrets init-kek --file /etc/gatehouse/kek/gatehouse.kek` and set `server.key_encryption_key_file` to its path (see docs/operations.md, "Key-encryption key").',
      detail: 'server.key_encryption_key_file and server.key_encryption_key are both unset',
    });
  };
  return { available: false, source: 'not configured', primaryKeyId: refuse, seal: refuse, unseal: refuse };
}

/** For `serve`: a server holds private keys, so it refuses to run without a KEK (`kek_not_configured`). */
export function requireKeyEncryptionKey(sealer: SecretSealer): void {
  if (!sealer.available) sealer.primaryKeyId();
}
