import type { Kysely } from 'kysely';
import { signingKeyContext, type SecretSealer } from '../secrets/index.js';
import type { Database } from '../store/index.js';
import type { EcJwk, SigningKeyRecord, SigningKeyStore } from './signing-key-store.js';

/**
 * The signing key ring's storage in the shared database, so every instance signs with and publishes
 * the same keys. Private keys stay in this table, sealed under the key-encryption key for their own
 * kid (`jwt-signing-key:<kid>`): a copy of the database cannot mint identity tokens, and a sealed key
 * moved to another row does not open. Only public JWKs leave it (the JWKS).
 */
export function createDatabaseSigningKeyStore(db: Kysely<Database>, sealer: SecretSealer): SigningKeyStore {
  return {
    async load() {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
      return rows.map(
        (row): SigningKeyRecord => ({
          kid: row.kid,
          alg: 'ES256',
          privateJwk: JSON.parse(sealer.unseal(row.private_jwk, signingKeyContext(row.kid)).toString('utf8')) as EcJwk,
          createdAt: Number(row.created_at),
          activatesAt: Number(row.activates_at),
        }),
      );
    },
    async save(record) {
      const { d: _private, ...publicJwk } = record.privateJwk as EcJwk & { d?: string };
      // Sealed before the insert: without a KEK no key is created, so none is ever stored in the clear.
      const sealed = sealer.seal(JSON.stringify(record.privateJwk), signingKeyContext(record.kid));
      await db
        .insertInto('signing_keys')
        .values({
          kid: record.kid,
          alg: record.alg,
          private_jwk: sealed,
          public_jwk: JSON.stringify(publicJwk),
          created_at: record.createdAt,
          activates_at: record.activatesAt,
          retires_at: null,
        })
        .onConflict((oc) => oc.column('kid').doNothing())
        .execute();
    },
    async remove(kid) {
      await db.deleteFrom('signing_keys').where('kid', '=', kid).execute();
    },
  };
}
