import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { Database } from '../store/index.js';
import { countPlaintext, listSealedValues, replaceSealedValue, SEALED_SETTINGS, type SealedLocation } from './sealed-values.js';
import { isSealedValue, sealedKeyIdOf, type SecretSealer } from './secret-sealer.js';

export interface SealAtRestReport {
  /** Plaintext values sealed in place by this call, per location. */
  sealed: Record<SealedLocation, number>;
  total: number;
}

const CANARY = 'kek_canary';

/**
 * Run at every open with a KEK, before anything reads a sealed value:
 *
 * 1. The canary (a random value sealed when the database first met a KEK) must open: a wrong key file
 *    fails here with `kek_mismatch`, naming the key the database wants, instead of as an unreadable
 *    signing key later.
 * 2. Any plaintext private key is sealed in place, in one transaction, with an audit event naming what
 *    was sealed. That is the upgrade of a database written before sealing existed; afterwards it only
 *    finds values an instance of an older version wrote. Readers never accept plaintext: between
 *    starts, a plaintext value planted by someone with write access is refused, and at a start it is
 *    sealed and shows in the audit log.
 */
export async function sealSecretsAtRest(deps: { db: Kysely<Database>; sealer: SecretSealer; random: Random; audit: AuditLog }): Promise<SealAtRestReport> {
  const { db, sealer, random, audit } = deps;
  const canary = await db.selectFrom('settings').select('value').where('key', '=', CANARY).executeTakeFirst();
  if (canary) checkCanary(sealer, canary.value);

  const values = await listSealedValues(db);
  const counts = countPlaintext(values);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (canary && total === 0) return { sealed: counts, total };

  return db.transaction().execute(async (trx) => {
    const sealed = countPlaintext([]);
    for (const item of values) {
      if (isSealedValue(item.value)) continue;
      sealed[item.location] += await replaceSealedValue(trx, item, sealer.seal(item.value, item.context));
    }
    await trx
      .insertInto('settings')
      .values({ key: CANARY, value: sealer.seal(random.bytes(32), SEALED_SETTINGS[CANARY]!) })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const sum = Object.values(sealed).reduce((a, b) => a + b, 0);
    if (sum > 0) {
      await audit.record(
        {
          type: 'secrets.sealed_at_rest',
          outcome: 'info',
          actor: 'system',
          detail: { signing_keys: sealed['signing_keys.private_jwk'], settings: sealed['settings.value'], totp_secrets: sealed['legacy_factors.totp_secret'], ssh_ca_keys: sealed['ssh_certificate_authorities.private_key'], key_id: sealer.primaryKeyId() },
        },
        trx,
      );
    }
    return { sealed, total: sum };
  });
}

function checkCanary(sealer: SecretSealer, value: string): void {
  try {
    sealer.unseal(value, SEALED_SETTINGS[CANARY]!);
  } catch (error) {
    if (!isGatehouseError(error) || !error.code.startsWith('sealed_value_')) throw error;
    throw new GatehouseError('kek_mismatch', {
      status: 500,
      publicMessage: `The key-encryption key from ${sealer.source} does not open this database (its values are sealed under key ${sealedKeyIdOf(value) ?? 'unknown'}). Configure the key file this database was sealed with, or restore it from its backup.`,
      detail: `${error.code}: ${error.detail ?? ''}`,
      cause: error,
    });
  }
}
