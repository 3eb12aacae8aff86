import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The console's user page lists a user's open enrollment links: without an index on the owner, every
 * profile view would scan every invite ever issued (one per user at least, 10,000 and growing).
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function consoleUserIndexesMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('invites_user').on('invites').column('user_id').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('invites_user').execute();
    },
  };
}
