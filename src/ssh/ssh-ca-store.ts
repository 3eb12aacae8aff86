import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import { sshCaKeyContext, type SecretSealer } from '../secrets/index.js';
import type { Database } from '../store/index.js';

/** One CA generation as stored: the private key is the PKCS#8 PEM, opened only in memory. */
export interface SshCaRecord {
  id: string;
  /** OpenSSH public key line. */
  publicKey: string;
  privateKeyPem: string;
  createdAt: number;
  createdBy: string;
  /** Trusted until then; undefined while not superseded. */
  retiresAt: number | undefined;
}

/**
 * The rows of `ssh_certificate_authorities`. Private keys are sealed under the key-encryption key for
 * their own row (`ssh-ca-key:<id>`), exactly like the identity-JWT signing keys: a copy of the
 * database cannot sign certificates, and a sealed key moved to another row does not open.
 */
export class SshCaStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly sealer: SecretSealer,
  ) {}

  async load(): Promise<SshCaRecord[]> {
    const rows = await this.db.selectFrom('ssh_certificate_authorities').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map((row) => ({
      id: row.id,
      publicKey: row.public_key,
      privateKeyPem: this.sealer.unseal(row.private_key, sshCaKeyContext(row.id)).toString('utf8'),
      createdAt: Number(row.created_at),
      createdBy: row.created_by,
      retiresAt: row.retires_at === null ? undefined : Number(row.retires_at),
    }));
  }

  /**
   * Adds a generation and, in the same transaction, sets every CA still trusted at `now` to retire at
   * `retireOthersAt` (never later than it already would), with its audit event.
   */
  async add(record: SshCaRecord, options: { now: number; retireOthersAt: number; audit: AuditLog; overlapMs: number }): Promise<string[]> {
    // Sealed before the transaction: without a KEK no CA is created, so none is ever stored in the clear.
    const sealed = this.sealer.seal(record.privateKeyPem, sshCaKeyContext(record.id));
    return this.db.transaction().execute(async (trx) => {
      const superseded = await trx
        .selectFrom('ssh_certificate_authorities')
        .select(['id', 'retires_at'])
        .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', options.now)]))
        .execute();
      for (const row of superseded) {
        const retiresAt = row.retires_at === null ? options.retireOthersAt : Math.min(Number(row.retires_at), options.retireOthersAt);
        await trx.updateTable('ssh_certificate_authorities').set({ retires_at: retiresAt }).where('id', '=', row.id).execute();
      }
      await trx
        .insertInto('ssh_certificate_authorities')
        .values({ id: record.id, algorithm: 'ssh-ed25519', public_key: record.publicKey, private_key: sealed, created_at: record.createdAt, created_by: record.createdBy, retires_at: null })
        .execute();
      const supersededIds = superseded.map((row) => row.id);
      await options.audit.record(
        {
          type: supersededIds.length === 0 ? 'ssh.ca_created' : 'ssh.ca_rotated',
          outcome: 'success',
          actor: record.createdBy,
          detail: { ca: record.id, public_key: record.publicKey, superseded: supersededIds, overlap_ms: options.overlapMs, retires_at: supersededIds.length ? options.retireOthersAt : null },
        },
        trx,
      );
      return supersededIds;
    });
  }
}
