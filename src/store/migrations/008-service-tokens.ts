import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Service tokens: machine credentials made of a public client id and a 256-bit secret.
 *
 * - `service_tokens`: one row per token. Only SHA-256 digests of secrets are kept (`secret_hash`, and
 *   during a rotation's overlap `previous_secret_hash` until `previous_valid_until`): a copy of the
 *   database does not let anyone present a token. `version` grows with every change so an instance
 *   applying change-feed rows out of order never goes back to an older state. The `last_used_*`
 *   columns are written in batches from actual use.
 * - `service_token_sightings`: the networks (/24, /48) and apps each token has been used from, so a
 *   first use from a network never seen before can be told apart from routine use.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function serviceTokensMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('service_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('apps', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('previous_secret_hash', 'text')
        .addColumn('previous_valid_until', ms)
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('believed_unused', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('rotated_at', ms)
        .addColumn('rotated_by', 'text')
        .addColumn('last_used_at', ms)
        .addColumn('last_used_ip', 'text')
        .addColumn('last_used_app', 'text')
        .addColumn('last_used_user_agent', 'text')
        .execute();
      await db.schema.createIndex('service_tokens_expiry').on('service_tokens').column('expires_at').execute();

      await db.schema
        .createTable('service_token_sightings')
        .addColumn('token_id', 'text', (c) => c.notNull().references('service_tokens.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', ms, (c) => c.notNull())
        .addColumn('last_seen_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('service_token_sightings_pk', ['token_id', 'kind', 'value'])
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
