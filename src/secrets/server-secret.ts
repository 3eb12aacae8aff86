import type { Kysely } from 'kysely';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { Database } from '../store/index.js';
import { SEALED_SETTINGS } from './sealed-values.js';
import type { SecretSealer } from './secret-sealer.js';

const SETTING = 'server_secret';
const CONTEXT = SEALED_SETTINGS[SETTING]!;
const SECRET_BYTES = 32;

/**
 * The per-deployment HMAC key (`settings.server_secret`): decoy credential ids in username-first
 * sign-in and the account key of the sign-in throttle. Generated once, shared by every instance through
 * the database, sealed under the key-encryption key like the private keys.
 *
 * Threat model. Whoever holds this key tells decoy credential ids from real ones (HMAC the email, compare
 * with what the sign-in options list: user enumeration) and names the accounts in `sign_in_throttle` by
 * hashing a list of addresses (which accounts someone sprayed). A copy of the database (backup, dump,
 * replica, read-only SQL injection) used to hand it over; sealed, it yields a blob that opens only with
 * the KEK. Someone who can write the database cannot plant a key of their choosing: a plaintext value is
 * refused here, and sealed (and audited, `secrets.sealed_at_rest`) by the next start's
 * `sealSecretsAtRest`, which is also the upgrade of a deployment from before sealing: the value is
 * sealed as it is, so decoy ids and throttle rows stay what they were.
 *
 * A value the KEK cannot open fails the start (`server_secret_unopenable`) and is left as it is: a new
 * secret would hide a key-file mix-up, change every decoy id at once (a visible seam between decoys and
 * real ids) and forget every lockout in progress.
 *
 * The sealed plaintext is the base64url text of the 32 bytes: the form the legacy rows hold, so the
 * in-place upgrade and a fresh start seal the same thing.
 */
export async function loadServerSecret(db: Kysely<Database>, random: Random, sealer: SecretSealer): Promise<Buffer> {
  // `on conflict do nothing`, then read back: concurrent first starts all adopt the one row that won.
  const candidate = sealer.seal(random.bytes(SECRET_BYTES).toString('base64url'), CONTEXT);
  await db.insertInto('settings').values({ key: SETTING, value: candidate }).onConflict((oc) => oc.column('key').doNothing()).execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirst();
  if (!row) throw unopenable(sealer, 'server_secret_missing', 'the row vanished after it was written');
  let text: string;
  try {
    text = sealer.unseal(row.value, CONTEXT).toString('utf8');
  } catch (error) {
    if (!isGatehouseError(error) || !error.code.startsWith('sealed_value_')) throw error;
    throw unopenable(sealer, error.code, error.detail ?? error.message, error);
  }
  const secret = Buffer.from(text, 'base64url');
  if (secret.length !== SECRET_BYTES || secret.toString('base64url') !== text) {
    throw unopenable(sealer, 'server_secret_invalid', `the sealed value does not hold ${SECRET_BYTES} bytes in base64url`);
  }
  return secret;
}

function unopenable(sealer: SecretSealer, reason: string, detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('server_secret_unopenable', {
    status: 500,
    publicMessage:
      `settings.server_secret (the HMAC key for decoy credential ids and the sign-in throttle) cannot be opened with the key-encryption key from ${sealer.source}. ` +
      'Configure the key file this database was sealed with, or restore the row from a backup; it is not replaced, since a new secret would hide a key mix-up.',
    detail: `${reason}: ${detail}`,
    ...(cause === undefined ? {} : { cause }),
  });
}
