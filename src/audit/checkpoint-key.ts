import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import { isSealedValue, SEALED_SETTINGS, type SecretSealer } from '../secrets/index.js';
import type { Database } from '../store/index.js';

const SETTING = 'audit_checkpoint_key';
const PUBLIC_SETTING = 'audit_checkpoint_public_key';
const CONTEXT = SEALED_SETTINGS[SETTING]!;
// RFC 8410 §7: PKCS#8 for Ed25519 is this fixed prefix followed by the 32-byte seed. Building the key
// from injected randomness keeps key generation under the caller's Random (tests can seed it).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** What verification needs: kept in `settings` in the clear, so `audit verify` runs without the KEK. */
export interface CheckpointPublicKey {
  /** SPKI DER, base64url: stored on every checkpoint it signs. */
  publicKey: string;
  fingerprint: string;
}

export interface CheckpointKey extends CheckpointPublicKey {
  privateKey: KeyObject;
}

/** `SHA256:` and the hex digest of the SPKI DER: short enough to pin in a runbook or a SIEM. */
export function checkpointKeyFingerprint(publicKey: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(publicKey, 'base64url')).digest('hex')}`;
}

/**
 * The Ed25519 key that signs retention checkpoints: generated on first use and kept in `settings`,
 * the private key (PKCS#8 DER, base64url) sealed under the key-encryption key, the public key (SPKI)
 * in the clear beside it. `on conflict do nothing` makes concurrent first uses agree.
 *
 * Sealing is what makes retention need something from outside the database: with a copy of the
 * database alone nobody can sign a checkpoint, so nobody can delete events and leave a valid anchor.
 */
export async function loadCheckpointKey(db: Kysely<Database>, random: Random, sealer: SecretSealer): Promise<CheckpointKey> {
  const seed = random.bytes(32);
  const candidate = sealer.seal(Buffer.concat([PKCS8_ED25519_PREFIX, seed]).toString('base64url'), CONTEXT);
  await db.insertInto('settings').values({ key: SETTING, value: candidate }).onConflict((oc) => oc.column('key').doNothing()).execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirst();
  if (!row) throw new GatehouseError('audit_checkpoint_key_missing', { status: 500, detail: `settings.${SETTING} vanished after it was written` });
  const key = privateKeyOf(sealer.unseal(row.value, CONTEXT).toString('utf8'));
  await db.insertInto('settings').values({ key: PUBLIC_SETTING, value: key.publicKey }).onConflict((oc) => oc.column('key').doNothing()).execute();
  const published = await readCheckpointKey(db);
  if (published?.publicKey !== key.publicKey) {
    throw new GatehouseError('audit_checkpoint_key_invalid', {
      status: 500,
      publicMessage: 'The audit checkpoint public key in settings does not belong to the checkpoint private key.',
      detail: `settings.${PUBLIC_SETTING} is ${published?.fingerprint ?? 'missing'}, the private key's is ${key.fingerprint}`,
    });
  }
  return key;
}

/**
 * The public half without creating a key or opening the private one (verification never writes and
 * needs no KEK). A database from before sealing has no public row yet: its plaintext private key
 * still says what the public key is, until the first start with a KEK writes the row and seals it.
 */
export async function readCheckpointKey(db: Kysely<Database>): Promise<CheckpointPublicKey | undefined> {
  const rows = await db.selectFrom('settings').select(['key', 'value']).where('key', 'in', [SETTING, PUBLIC_SETTING]).execute();
  const published = rows.find((row) => row.key === PUBLIC_SETTING)?.value;
  const stored = rows.find((row) => row.key === SETTING)?.value;
  if (published !== undefined) return publicKeyOf(published);
  if (stored === undefined) return undefined;
  if (isSealedValue(stored)) throw invalidKey(`settings.${PUBLIC_SETTING} is missing beside a sealed private key`);
  return privateKeyOf(stored);
}

/** Writes the public row from a legacy plaintext private key (run before that key is sealed in place). */
export async function ensureCheckpointPublicKey(db: Kysely<Database>): Promise<void> {
  const rows = await db.selectFrom('settings').select(['key', 'value']).where('key', 'in', [SETTING, PUBLIC_SETTING]).execute();
  const stored = rows.find((row) => row.key === SETTING)?.value;
  if (stored === undefined || isSealedValue(stored) || rows.some((row) => row.key === PUBLIC_SETTING)) return;
  const { publicKey } = privateKeyOf(stored);
  await db.insertInto('settings').values({ key: PUBLIC_SETTING, value: publicKey }).onConflict((oc) => oc.column('key').doNothing()).execute();
}

function invalidKey(detail: string): GatehouseError {
  return new GatehouseError('audit_checkpoint_key_invalid', { status: 500, publicMessage: 'The audit checkpoint key in settings is unreadable.', detail });
}

function privateKeyOf(pkcs8: string): CheckpointKey {
  try {
    const privateKey = createPrivateKey({ key: Buffer.from(pkcs8, 'base64url'), format: 'der', type: 'pkcs8' });
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${privateKey.asymmetricKeyType ?? 'unknown'})`);
    const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64url');
    return { privateKey, publicKey, fingerprint: checkpointKeyFingerprint(publicKey) };
  } catch (error) {
    throw invalidKey(`settings.${SETTING}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function publicKeyOf(spki: string): CheckpointPublicKey {
  try {
    const key = createPublicKey({ key: Buffer.from(spki, 'base64url'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${key.asymmetricKeyType ?? 'unknown'})`);
    return { publicKey: spki, fingerprint: checkpointKeyFingerprint(spki) };
  } catch (error) {
    throw invalidKey(`settings.${PUBLIC_SETTING}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
