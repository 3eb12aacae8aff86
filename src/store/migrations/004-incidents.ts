import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Incident response: incidents, the state of each playbook step (so a run resumes after a
 * crash without repeating an effect), the users an incident contains, an outbox of notifications with
 * one unique key per recipient, and alert claims shared by every instance (dedupe and cooldown).
 */
export function incidentsMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('run_state', 'text', (c) => c.notNull())
        .addColumn('indicators', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('declared_at', ms, (c) => c.notNull())
        .addColumn('declared_by', 'text', (c) => c.notNull())
        .addColumn('closed_at', ms)
        .addColumn('closed_by', 'text')
        .addColumn('close_note', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', ms)
        .addColumn('stix', 'text')
        .execute();
      await db.schema.createIndex('incidents_declared').on('incidents').column('declared_at').execute();

      await db.schema
        .createTable('incident_steps')
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('started_at', ms)
        .addColumn('ended_at', ms)
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('incident_steps_pk', ['incident_id', 'name'])
        .execute();

      await db.schema
        .createTable('incident_users')
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('sources', 'text', (c) => c.notNull())
        .addColumn('added_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('incident_users_pk', ['incident_id', 'user_id'])
        .execute();

      await db.schema
        .createTable('incident_outbox')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id').onDelete('cascade'))
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('claimed_at', ms)
        .addColumn('sent_at', ms)
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('incident_outbox_pending').on('incident_outbox').columns(['incident_id', 'status']).execute();

      await db.schema
        .createTable('incident_alerts')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('first_at', ms, (c) => c.notNull())
        .addColumn('last_at', ms, (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('incident_id', 'text')
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
