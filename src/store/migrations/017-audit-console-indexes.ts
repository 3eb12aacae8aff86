import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Indexes for the console's audit search by outcome and by error code, newest first: without them a
 * search for a rare code (or an outcome that never happened) walks every event by time, 200,000
 * rows on a year of a mid-size organisation. Type, user, address and time are indexed already.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function auditConsoleIndexesMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('audit_events_code_at').on('audit_events').columns(['code', 'at']).execute();
      await db.schema.createIndex('audit_events_outcome_at').on('audit_events').columns(['outcome', 'at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('audit_events_outcome_at').execute();
      await db.schema.dropIndex('audit_events_code_at').execute();
    },
  };
}
