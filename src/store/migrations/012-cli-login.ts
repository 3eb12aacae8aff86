import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * `gatehouse login` (RFC 8252 loopback redirect with RFC 7636 PKCE).
 *
 * - `cli_login_codes`: one-time authorization codes, stored as the SHA-256 of the code; bound to the
 *   browser session that consented (`session_hash`), the exact loopback `redirect_uri` and the S256
 *   `code_challenge`; `used_at` makes them single-use, `expires_at` about a minute after issue.
 * - `cli_credentials`: the command line's bearer credential, stored as its SHA-256 only; a child of the
 *   browser session (`session_hash`): it is refused as soon as that session is revoked, signed out or
 *   expired, and at its own `expires_at` (never later than the session's). `code_hash` names the code it
 *   was redeemed for: a replayed code revokes it (RFC 6749 §4.1.2).
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function cliLoginMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('cli_login_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_hash', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text', (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('used_at', ms)
        .execute();
      await db.schema.createIndex('cli_login_codes_expires').on('cli_login_codes').column('expires_at').execute();
      await db.schema
        .createTable('cli_credentials')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_hash', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('revoked_at', ms)
        .execute();
      await db.schema.createIndex('cli_credentials_session').on('cli_credentials').column('session_hash').execute();
      await db.schema.createIndex('cli_credentials_code').on('cli_credentials').column('code_hash').execute();
      await db.schema.createIndex('cli_credentials_expires').on('cli_credentials').column('expires_at').execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
