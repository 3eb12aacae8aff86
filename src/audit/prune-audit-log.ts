import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
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
 */
export async function pruneAuditLog(
  deps: { db: Kysely<Database>; clock: Clock; random: Random },
  input: { before: number; actor: string },
): Promise<PruneAuditResult> {
  const { db, clock, random } = deps;
  if (!Number.isFinite(input.before)) throw new GatehouseError('invalid_input', { publicMessage: 'before must be a time', detail: String(input.before) });
  if (input.before > clock.now()) {
    throw new GatehouseError('audit_prune_future', { publicMessage: 'Refusing to prune up to a time in the future.', detail: new Date(input.before).toISOString() });
  }
  const verification = await verifyAuditChain(db);
  if (!verification.ok && verification.problem) {
    const { problem } = verification;
    throw new GatehouseError('audit_chain_invalid', {
      status: 409,
      publicMessage: 'The audit log does not verify; refusing to sign a checkpoint over it.',
      detail: `first bad event ${problem.seq}: ${problem.kind}: ${problem.message}`,
    });
  }
  const key = await loadCheckpointKey(db, random);

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
