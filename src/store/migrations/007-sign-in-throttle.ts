import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Failed password sign-ins per account, shared by every instance, so spreading a spray over client
 * addresses or instances does not multiply its budget. One row per attacked account, known or not,
 * keyed by an HMAC of the normalised email: no address sits in the table in clear. A logged table on
 * PostgreSQL (unlike the challenges): a crash or failover must not hand a sprayer a fresh budget.
 */
export function signInThrottleMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('sign_in_throttle')
        .addColumn('account_key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_started_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sign_in_throttle_window').on('sign_in_throttle').column('window_started_at').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('sign_in_throttle').execute();
    },
  };
}
