import { createHmac } from 'node:crypto';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';

/**
 * The key-encryption keys (KEK): AES-256 keys kept outside the database that seal the private keys
 * stored in it (see secret-sealer.ts). Several keys can be present so rotation never leaves a value
 * sealed under a key nobody has: new values are sealed under `primary`, every listed key opens.
 *
 * Text form (the key file, or `server.key_encryption_key` through `${env:NAME}`), JSON:
 *
 *   { "format": "gatehouse-kek", "version": 1, "primary": "<id>",
 *     "keys": [ { "id": "<id>", "key": "<32 bytes, base64url>", "created": "<ISO 8601>" } ] }
 *
 * A bare 32-byte key in base64url (or base64) is accepted too: one key, which is then the primary.
 * `id` is derived from the key (below), so a typo in either is caught when the file is read.
 */
export interface KeyEncryptionKey {
  /** 16 hex digits: HMAC-SHA-256(key, label), truncated. Names the key in sealed values. */
  readonly id: string;
  readonly key: Buffer;
  /** When the key was generated (ISO 8601); informational. */
  readonly created?: string;
}

export interface KeyEncryptionKeys {
  readonly primary: string;
  readonly keys: readonly KeyEncryptionKey[];
}

const KEY_BYTES = 32;
const FORMAT = 'gatehouse-kek';

/**
 * A key id that reveals nothing usable about the key (a MAC under the key itself, of a fixed label)
 * yet is stable, so every holder of the same key derives the same id.
 */
export function keyEncryptionKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('gatehouse key-encryption-key id v1').digest('hex').slice(0, 16);
}

export function generateKeyEncryptionKey(random: Random, now: number): KeyEncryptionKey {
  const key = random.bytes(KEY_BYTES);
  if (key.length !== KEY_BYTES) throw new TypeError(`random source returned ${key.length} bytes, wanted ${KEY_BYTES}`);
  return Object.freeze({ id: keyEncryptionKeyId(key), key, created: new Date(now).toISOString() });
}

function invalid(source: string, why: string): GatehouseError {
  return new GatehouseError('kek_invalid', {
    status: 500,
    publicMessage: `The key-encryption key (${source}) is not valid: ${why}.`,
    detail: `${source}: ${why}`,
  });
}

function decodeKey(text: string, source: string, where: string): Buffer {
  if (!/^[A-Za-z0-9_\-+/]+={0,2}$/.test(text)) throw invalid(source, `${where} is not base64url`);
  const key = Buffer.from(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
  if (key.length !== KEY_BYTES) throw invalid(source, `${where} decodes to ${key.length} bytes, expected ${KEY_BYTES}`);
  return key;
}

/** Parses the text form; every problem is a `kek_invalid` naming `source` (a path or a config key), never a key. */
export function parseKeyEncryptionKeys(text: string, source: string): KeyEncryptionKeys {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) {
    const key = decodeKey(trimmed, source, 'the key');
    const id = keyEncryptionKeyId(key);
    return Object.freeze({ primary: id, keys: Object.freeze([Object.freeze({ id, key })]) });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(trimmed);
  } catch {
    throw invalid(source, 'not JSON and not a base64url key');
  }
  const doc = raw as { format?: unknown; version?: unknown; primary?: unknown; keys?: unknown };
  if (doc.format !== FORMAT || doc.version !== 1) throw invalid(source, `expected "format": "${FORMAT}", "version": 1`);
  if (!Array.isArray(doc.keys) || doc.keys.length === 0) throw invalid(source, '"keys" must list at least one key');
  const keys: KeyEncryptionKey[] = [];
  doc.keys.forEach((entry: unknown, index) => {
    const item = entry as { id?: unknown; key?: unknown; created?: unknown } | null;
    const where = `keys[${index}]`;
    if (!item || typeof item !== 'object' || typeof item.key !== 'string' || typeof item.id !== 'string') throw invalid(source, `${where} needs "id" and "key" strings`);
    const key = decodeKey(item.key, source, `${where}.key`);
    if (keyEncryptionKeyId(key) !== item.id) throw invalid(source, `${where}.id does not match its key (the file was edited by hand or damaged)`);
    if (keys.some((other) => other.id === item.id)) throw invalid(source, `${where}: key ${item.id} is listed twice`);
    keys.push(Object.freeze({ id: item.id, key, ...(typeof item.created === 'string' ? { created: item.created } : {}) }));
  });
  if (typeof doc.primary !== 'string' || !keys.some((key) => key.id === doc.primary)) throw invalid(source, '"primary" must be the id of a listed key');
  return Object.freeze({ primary: doc.primary, keys: Object.freeze(keys) });
}

export function serializeKeyEncryptionKeys(ring: KeyEncryptionKeys): string {
  const doc = {
    format: FORMAT,
    version: 1,
    primary: ring.primary,
    keys: ring.keys.map((key) => ({ id: key.id, key: key.key.toString('base64url'), ...(key.created ? { created: key.created } : {}) })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
