import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `campaign_items.lease_owner`: who holds an item's claim (`<host>/<pid>/<uuid>`), so `campaign
 * resume` takes over at once the claim of a run that died on this host instead of waiting out its
 * lease. Null while unclaimed, and on claims written before this migration (their expiry decides).
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function campaignLeaseOwnerMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('campaign_items').addColumn('lease_owner', 'text').execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
