import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The admin console's overview counts, rolled up per time bucket so a 30-day chart reads a few
 * thousand rows instead of grouping a million query-log rows on every page view. Counts survive the
 * query log's and the audit log's retention pruning: the raw rows may go, the bucket's count stays.
 *
 * `grain` is the bucket width ('5m' for the last hours, '1h' for everything); the key leads with
 * grain and bucket so a range is one index scan. `console_rollup_marks` says, per grain, up to where
 * every bucket has been rolled: the page counts what lies after it live from the raw rows.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function consoleRollupsMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('console_rollups')
        .addColumn('grain', 'text', (c) => c.notNull())
        .addColumn('bucket_start', ms, (c) => c.notNull())
        .addColumn('series', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('console_rollups_pk', ['grain', 'bucket_start', 'series', 'label'])
        .execute();
      await db.schema
        .createTable('console_rollup_marks')
        .addColumn('grain', 'text', (c) => c.primaryKey())
        .addColumn('rolled_to', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('console_rollup_marks').execute();
      await db.schema.dropTable('console_rollups').execute();
    },
  };
}
