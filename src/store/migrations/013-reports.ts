import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * "Report something suspicious".
 *
 * - `report_groups`: one lure (its registrable domain), with status `open`, `escalated` (blocked,
 *   incident drafted) or `dismissed`; `incident_draft` is the JSON a responder declares from.
 * - `reports`: one report; `reporter` is a directory email or null (anonymous, unverified intake
 *   sender); `indicators` the extracted URLs and domains with their verdicts (JSON). The lure text is
 *   stored as received and only ever rendered escaped.
 * - `report_messages`: thank-you notes, responder alerts and abuse-report drafts awaiting delivery.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function reportsMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('report_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', ms, (c) => c.notNull())
        .addColumn('last_seen_at', ms, (c) => c.notNull())
        .addColumn('escalated_at', ms)
        .addColumn('escalated_by', 'text')
        .addColumn('escalation_reason', 'text')
        .addColumn('incident_draft', 'text')
        .addColumn('dismissed_at', ms)
        .addColumn('dismissed_by', 'text')
        .execute();
      await db.schema.createIndex('report_groups_domain').on('report_groups').column('domain').execute();
      // One live group per lure domain, even when two instances take its first reports at once.
      await db.schema
        .createIndex('report_groups_live_domain')
        .unique()
        .on('report_groups')
        .column('domain')
        .where(sql.ref('status'), '<>', 'dismissed')
        .execute();
      await db.schema
        .createTable('reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('group_id', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('reporter', 'text')
        .addColumn('client_ip', 'text')
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('indicators', 'text', (c) => c.notNull())
        .addColumn('verdict', 'text', (c) => c.notNull())
        .addColumn('received_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('reports_group').on('reports').column('group_id').execute();
      await db.schema.createIndex('reports_received').on('reports').column('received_at').execute();
      await db.schema
        .createTable('report_messages')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('group_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('sent_at', ms)
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('report_messages_status').on('report_messages').column('status').execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
