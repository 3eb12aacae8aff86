import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Indexes for the admin console's lists, so a page reads a page of rows instead of scanning the table
 * (50,000 sessions): live sessions by last use. Users are already indexed by email (unique) and
 * credentials by user.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function consoleIndexesMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('sessions_last_seen').on('sessions').column('last_seen_at').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('sessions_last_seen').execute();
    },
  };
}
