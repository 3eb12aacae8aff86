import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Idempotency keys of the report webhook (draft-ietf-httpapi-idempotency-key-header): one row per
 * (service token, key), the key kept only as its SHA-256. The primary key is what makes two concurrent
 * retries file one report: each tries to insert, one row exists, one of them wins. `fingerprint` is
 * the SHA-256 of the first request's body (a retry with another body is refused); `response` the
 * first answer (null while the first request runs); `expires_at` ends the window.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function reportIntakeKeysMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('report_intake_keys')
        .addColumn('token_id', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('response', 'text')
        .addColumn('started_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('report_intake_keys_pk', ['token_id', 'key_hash'])
        .execute();
      await db.schema.createIndex('report_intake_keys_expires').on('report_intake_keys').column('expires_at').execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
