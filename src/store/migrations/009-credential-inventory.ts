import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The credential inventory and rotation campaigns.
 *
 * - `credential_inventory`: credentials that live outside Gatehouse (service accounts, API tokens, SSH
 *   keys, database roles), with owner, system, last rotation and evidence of last use. `locator` is the
 *   rotator's coordinates as JSON, never a secret.
 * - `rotation_campaigns`: one row per campaign (reason, scope, who opened and closed it).
 * - `campaign_items`: the snapshot of every credential in scope, each moving pending → rotating →
 *   done | failed (or waiting for an overlap to end, or an owner task), with its evidence. `lease_until`
 *   lets a resumed campaign tell an abandoned claim from a live one.
 * - `campaign_attestations`: one row per admin vouching for an owner task; two different admins count.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function credentialInventoryMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('credential_inventory')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('system', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('created_at', ms)
        .addColumn('last_rotated_at', ms)
        .addColumn('last_used_at', ms)
        .addColumn('last_used_evidence', 'text')
        .addColumn('rotator', 'text')
        .addColumn('locator', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('believed_unused', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('added_at', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('rotation_campaigns')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('emergency', 'integer', (c) => c.notNull())
        .addColumn('overlap_ms', ms, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', ms, (c) => c.notNull())
        .addColumn('started_by', 'text', (c) => c.notNull())
        .addColumn('closed_at', ms)
        .addColumn('closed_by', 'text')
        .execute();

      await db.schema
        .createTable('campaign_items')
        .addColumn('campaign_id', 'text', (c) => c.notNull().references('rotation_campaigns.id'))
        .addColumn('item_key', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('credential_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('system', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('rotator', 'text')
        .addColumn('locator', 'text', (c) => c.notNull())
        .addColumn('believed_unused', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('end_state', 'text')
        .addColumn('lease_until', ms)
        .addColumn('wait_until', ms)
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('evidence', 'text')
        .addColumn('delivered_to', 'text')
        .addColumn('done_at', ms)
        .addColumn('done_by', 'text')
        .addColumn('last_error', 'text')
        .addColumn('task_token_hash', 'text')
        .addColumn('updated_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('campaign_items_pk', ['campaign_id', 'item_key'])
        .execute();
      await db.schema.createIndex('campaign_items_state').on('campaign_items').columns(['campaign_id', 'state']).execute();
      await db.schema.createIndex('campaign_items_task_token').on('campaign_items').column('task_token_hash').execute();

      await db.schema
        .createTable('campaign_attestations')
        .addColumn('campaign_id', 'text', (c) => c.notNull())
        .addColumn('item_key', 'text', (c) => c.notNull())
        .addColumn('admin', 'text', (c) => c.notNull())
        .addColumn('statement', 'text', (c) => c.notNull())
        .addColumn('attested_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('campaign_attestations_pk', ['campaign_id', 'item_key', 'admin'])
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
