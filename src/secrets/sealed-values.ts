import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { isSealedValue } from './secret-sealer.js';

/**
 * Every value Gatehouse keeps sealed, and the context each is sealed for. This list is the one place
 * that knows where sealed values live: the first start with a KEK seals the legacy plaintext ones, and
 * a KEK rotation re-seals them all, from here. A new sealed column must be added here, or a rotation
 * would drop the key it is sealed under.
 */
export type SealedLocation = 'signing_keys.private_jwk' | 'settings.value' | 'legacy_factors.totp_secret' | 'ssh_certificate_authorities.private_key';

export interface SealedValue {
  location: SealedLocation;
  /** The row: a kid, a settings key, a user id. */
  rowId: string;
  value: string;
  /** What the value is sealed for (the AEAD's additional data). */
  context: string;
}

/** Settings rows that hold a sealed value, and their contexts. */
export const SEALED_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  audit_checkpoint_key: 'audit-checkpoint-key',
  kek_canary: 'kek-canary',
  server_secret: 'server-secret',
});

export const signingKeyContext = (kid: string) => `jwt-signing-key:${kid}`;
export const totpSecretContext = (userId: string) => `totp:${userId}`;
export const sshCaKeyContext = (id: string) => `ssh-ca-key:${id}`;

export async function listSealedValues(db: Kysely<Database>): Promise<SealedValue[]> {
  const out: SealedValue[] = [];
  for (const row of await db.selectFrom('signing_keys').select(['kid', 'private_jwk']).orderBy('kid').execute()) {
    out.push({ location: 'signing_keys.private_jwk', rowId: row.kid, value: row.private_jwk, context: signingKeyContext(row.kid) });
  }
  const settingKeys = Object.keys(SEALED_SETTINGS);
  for (const row of await db.selectFrom('settings').select(['key', 'value']).where('key', 'in', settingKeys).orderBy('key').execute()) {
    out.push({ location: 'settings.value', rowId: row.key, value: row.value, context: SEALED_SETTINGS[row.key]! });
  }
  for (const row of await db.selectFrom('legacy_factors').select(['user_id', 'totp_secret']).where('totp_secret', 'is not', null).orderBy('user_id').execute()) {
    out.push({ location: 'legacy_factors.totp_secret', rowId: row.user_id, value: row.totp_secret!, context: totpSecretContext(row.user_id) });
  }
  for (const row of await db.selectFrom('ssh_certificate_authorities').select(['id', 'private_key']).orderBy('id').execute()) {
    out.push({ location: 'ssh_certificate_authorities.private_key', rowId: row.id, value: row.private_key, context: sshCaKeyContext(row.id) });
  }
  return out;
}

/**
 * Replaces one value, only if it still holds what was read (compare-and-set): another instance that
 * sealed or re-sealed it meanwhile wins, and this one reports 0 rows changed.
 */
export async function replaceSealedValue(db: Kysely<Database>, item: SealedValue, next: string): Promise<number> {
  let result;
  switch (item.location) {
    case 'signing_keys.private_jwk':
      result = await db.updateTable('signing_keys').set({ private_jwk: next }).where('kid', '=', item.rowId).where('private_jwk', '=', item.value).executeTakeFirst();
      break;
    case 'settings.value':
      result = await db.updateTable('settings').set({ value: next }).where('key', '=', item.rowId).where('value', '=', item.value).executeTakeFirst();
      break;
    case 'legacy_factors.totp_secret':
      result = await db.updateTable('legacy_factors').set({ totp_secret: next }).where('user_id', '=', item.rowId).where('totp_secret', '=', item.value).executeTakeFirst();
      break;
    case 'ssh_certificate_authorities.private_key':
      result = await db.updateTable('ssh_certificate_authorities').set({ private_key: next }).where('id', '=', item.rowId).where('private_key', '=', item.value).executeTakeFirst();
      break;
  }
  return Number(result.numUpdatedRows);
}

export function countPlaintext(values: readonly SealedValue[]): Record<SealedLocation, number> {
  const counts: Record<SealedLocation, number> = { 'signing_keys.private_jwk': 0, 'settings.value': 0, 'legacy_factors.totp_secret': 0, 'ssh_certificate_authorities.private_key': 0 };
  for (const item of values) if (!isSealedValue(item.value)) counts[item.location]++;
  return counts;
}
