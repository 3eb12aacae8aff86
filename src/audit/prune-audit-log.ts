import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { SecretSealer } from '../secrets/index.js';
import type { Database } from '../store/index.js';
import { appendAuditEvent } from './append-audit-event.js';
import { signCheckpoint, type AuditCheckpoint } from './audit-checkpoint.js';
import { canonicalJson } from './canonical-json.js';
import { loadCheckpointKey } from './checkpoint-key.js';
import { verifyAuditChain } from './verify-audit-chain.js';

export interface PruneAuditResult {
  deleted: number;
  /** The signed anchor left in place of the deleted events (none when nothing was old enough). */
  checkpoint?: AuditCheckpoint & { keyFingerprint: string };
}

/**
 * Retention: deletes the events that happened before `before` and leaves a signed checkpoint (seq,
 * hash, time of the last deleted event) from which the rest stays verifiable. Only a prefix of the
 * chain can go, so an event with an earlier timestamp written after a later one (clock skew between
 * instances) is kept until everything before it is old enough.
 *
 * The chain is verified first: signing a checkpoint over a tampered log would launder it.
 *
 * The checkpoint key is sealed under the key-encryption key, so pruning needs the KEK: someone with
 * the database alone (a copy, or write access through SQL) can delete events but cannot leave a
 * signed checkpoint over the gap, and `audit verify` reports it. Without the KEK, or with the wrong
 * one, this refuses with `audit_prune_needs_kek` before deleting anything.
 */
export async function pruneAuditLog(
  deps: { db: Kysely<Database>; clock: Clock; random: Random; sealer: SecretSealer },
  input: { before: number; actor: string },
): Promise<PruneAuditResult> {
  const { db, clock, random, sealer } = deps;
  if (!Number.isFinite(input.before)) throw new GatehouseError('invalid_input', { publicMessage: 'before must be a time', detail: String(input.before) });
  if (input.before > clock.now()) {
    throw new GatehouseError('audit_prune_future', { publicMessage: 'Refusing to prune up to a time in the future.', detail: new Date(input.before).toISOString() });
  }
  // The key first: without the KEK, refuse before spending a full verification on a long log.
  const key = await loadCheckpointKey(db, random, sealer).catch((error: unknown) => {
    if (!isGatehouseError(error) || !/^(kek_|sealed_value_)/.test(error.code)) throw error;
    throw new GatehouseError('audit_prune_needs_kek', {
      status: 500,
      publicMessage: `Pruning signs a checkpoint with the audit checkpoint key, which is sealed under the key-encryption key; it could not be opened (${error.code}). Run prune where the server's key file (server.key_encryption_key_file) is readable. Nothing was deleted.`,
      detail: `${error.code}: ${error.detail ?? ''}`,
      cause: error,
    });
  });
  const verification = await verifyAuditChain(db);
  if (!verification.ok && verification.problem) {
    const { problem } = verification;
    throw new GatehouseError('audit_chain_invalid', {
      status: 409,
      publicMessage: 'The audit log does not verify; refusing to sign a checkpoint over it.',
      detail: `first bad event ${problem.seq}: ${problem.kind}: ${problem.message}`,
    });
  }

  return db.transaction().execute(async (trx) => {
    // Take the head lock first: prunes and appends from every instance serialize behind it.
    await trx.updateTable('audit_head').set((eb) => ({ seq: eb.ref('seq') })).where('id', '=', 1).execute();
    const firstKept = await trx.selectFrom('audit_events').select((eb) => eb.fn.min('seq').as('seq')).where('at', '>=', input.before).executeTakeFirst();
    let lastQuery = trx.selectFrom('audit_events').select(['seq', 'hash', 'at']).orderBy('seq', 'desc').limit(1);
    if (firstKept?.seq !== null && firstKept?.seq !== undefined) lastQuery = lastQuery.where('seq', '<', Number(firstKept.seq));
    const last = await lastQuery.executeTakeFirst();
    if (!last) return { deleted: 0 };

    const result = await trx.deleteFrom('audit_events').where('seq', '<=', Number(last.seq)).executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    const checkpoint = signCheckpoint(key, { seq: Number(last.seq), hash: last.hash, at: Number(last.at), createdAt: clock.now() });
    await trx
      .insertInto('audit_checkpoints')
      .values({ seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at, created_at: checkpoint.createdAt, public_key: checkpoint.publicKey, signature: checkpoint.signature })
      .execute();
    await appendAuditEvent(trx, {
      at: clock.now(),
      type: 'audit.pruned',
      outcome: 'success',
      code: null,
      user_id: null,
      actor: input.actor,
      ip: null,
      detail: canonicalJson({ before: new Date(input.before).toISOString(), through_seq: checkpoint.seq, deleted, checkpoint_key: key.fingerprint }),
    });
    return { deleted, checkpoint: { ...checkpoint, keyFingerprint: key.fingerprint } };
  });
}
