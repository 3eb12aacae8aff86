import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { Database } from '../store/index.js';

const SETTING = 'audit_checkpoint_key';
// RFC 8410 §7: PKCS#8 for Ed25519 is this fixed prefix followed by the 32-byte seed. Building the key
// from injected randomness keeps key generation under the caller's Random (tests can seed it).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface CheckpointKey {
  privateKey: KeyObject;
  /** SPKI DER, base64url: stored on every checkpoint it signs. */
  publicKey: string;
  fingerprint: string;
}

/** `SHA256:` and the hex digest of the SPKI DER: short enough to pin in a runbook or a SIEM. */
export function checkpointKeyFingerprint(publicKey: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(publicKey, 'base64url')).digest('hex')}`;
}

/**
 * The Ed25519 key that signs retention checkpoints: generated on first use and kept in `settings`
 * (private key as PKCS#8 DER, base64url). `on conflict do nothing` makes concurrent first uses agree.
 */
export async function loadCheckpointKey(db: Kysely<Database>, random: Random): Promise<CheckpointKey> {
  const seed = random.bytes(32);
  const candidate = Buffer.concat([PKCS8_ED25519_PREFIX, seed]).toString('base64url');
  await db.insertInto('settings').values({ key: SETTING, value: candidate }).onConflict((oc) => oc.column('key').doNothing()).execute();
  const stored = await readStoredKey(db);
  if (!stored) throw new GatehouseError('audit_checkpoint_key_missing', { status: 500, detail: `settings.${SETTING} vanished after it was written` });
  return stored;
}

/** The stored key without creating one (verification never writes). */
export async function readCheckpointKey(db: Kysely<Database>): Promise<CheckpointKey | undefined> {
  return readStoredKey(db);
}

async function readStoredKey(db: Kysely<Database>): Promise<CheckpointKey | undefined> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirst();
  if (!row) return undefined;
  try {
    const privateKey = createPrivateKey({ key: Buffer.from(row.value, 'base64url'), format: 'der', type: 'pkcs8' });
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${privateKey.asymmetricKeyType ?? 'unknown'})`);
    const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64url');
    return { privateKey, publicKey, fingerprint: checkpointKeyFingerprint(publicKey) };
  } catch (error) {
    throw new GatehouseError('audit_checkpoint_key_invalid', {
      status: 500,
      publicMessage: 'The audit checkpoint key in settings is unreadable.',
      detail: `settings.${SETTING}: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}
