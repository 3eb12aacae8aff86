import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Keys come into existence only through a proof the server can check against its own origin.
 *
 * - `pending_credentials`: a credential whose registration verified but which has not yet produced an
 *   assertion against a fresh challenge. A registration proves nothing about the origin unless an
 *   attestation signature covers it (with `none`, a relay can rewrite clientDataJSON and the rpIdHash
 *   freely); an assertion always does. Only an activated credential moves to `credentials`, so no
 *   query over `credentials` can ever see an unproven key. The activation challenge lives in the row
 *   and is consumed with it.
 * - `credentials` gains where and how each key was added (shown to the user, sent in notices).
 * - `sessions.credential_id`: the key whose assertion created the session, so removing the key ends
 *   what it opened.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function keyProofsMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('pending_credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', ms, (c) => c.notNull())
        .addColumn('aaguid', 'text', (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('authenticator_class', 'text', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('attestation', 'text', (c) => c.notNull())
        .addColumn('classification', 'text', (c) => c.notNull())
        .addColumn('invite_hash', 'text')
        .addColumn('session_hash', 'text')
        .addColumn('activation_id', 'text', (c) => c.notNull().unique())
        .addColumn('activation_challenge', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('user_agent', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pending_credentials_user').on('pending_credentials').column('user_id').execute();
      await db.schema.createIndex('pending_credentials_expiry').on('pending_credentials').column('expires_at').execute();

      await db.schema.alterTable('credentials').addColumn('model', 'text').execute();
      await db.schema.alterTable('credentials').addColumn('attestation', 'text').execute();
      await db.schema.alterTable('credentials').addColumn('added_ip', 'text').execute();
      await db.schema.alterTable('credentials').addColumn('added_user_agent', 'text').execute();

      await db.schema.alterTable('sessions').addColumn('credential_id', 'text').execute();
      await db.schema.createIndex('sessions_credential').on('sessions').column('credential_id').execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
