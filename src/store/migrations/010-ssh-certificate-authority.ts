import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The SSH certificate authority.
 *
 * - `ssh_certificate_authorities`: one row per CA generation, an Ed25519 key pair. `private_key` is the
 *   PKCS#8 key sealed under the key-encryption key for its own row (`ssh-ca-key:<id>`), `public_key`
 *   the OpenSSH public key line servers and clients trust. The newest row signs; an older one stays
 *   trusted until `retires_at` (the overlap of a rotation), null while it has not been superseded.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function sshCertificateAuthorityMigration(_dialect: Dialect) {
  const ms = 'bigint';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('ssh_certificate_authorities')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('private_key', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('retires_at', ms)
        .execute();
    },
    async down(): Promise<void> {
      throw new Error('down migrations are not supported: restore from backup');
    },
  };
}
