import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * DNS gateway state: the query log (written in batches, pruned by retention), registration
 * dates learnt from RDAP (shared cache across instances), the first-seen table and personal DoH tokens.
 */
export function dnsMigration(dialect: Dialect) {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('dns_queries')
        .addColumn('id', serial, (c) => (dialect === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('client', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('verdict', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('latency_ms', 'real', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dns_queries_name').on('dns_queries').columns(['name', 'at']).execute();
      await db.schema.createIndex('dns_queries_at').on('dns_queries').column('at').execute();

      await db.schema
        .createTable('domain_registrations')
        .addColumn('domain', 'text', (c) => c.primaryKey())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();

      // Personal DoH URLs (RFC 8484 on a per-user path): only the token's hash is stored.
      await db.schema
        .createTable('doh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('domain_first_seen')
        .addColumn('domain', 'text', (c) => c.primaryKey())
        .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
