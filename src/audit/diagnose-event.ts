import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { hashAuditEvent, isHexHash, type ChainedEventFields } from './event-hash.js';
import type { AuditProblem } from './verify-audit-chain.js';

export interface ChainRow extends ChainedEventFields {
  prev_hash: string;
  hash: string;
}

/** Events after `afterSeq` (and up to `upTo`), in seq order. */
export async function readChainPage(db: Kysely<Database>, afterSeq: number, upTo: number | undefined, limit: number): Promise<ChainRow[]> {
  let query = db
    .selectFrom('audit_events')
    .select(['seq', 'at', 'type', 'outcome', 'code', 'user_id', 'actor', 'ip', 'detail', 'prev_hash', 'hash'])
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit);
  if (upTo !== undefined) query = query.where('seq', '<=', upTo);
  const rows = await query.execute();
  return rows.map((row) => ({ ...row, seq: Number(row.seq), at: Number(row.at) }));
}

// How far around a failing event to look for where its content belongs (a reordering).
const REORDER_WINDOW = 500;

/**
 * Checks one event against the one before it; on failure, names what happened. The common case costs
 * one hash; the diagnosis (a bounded look-around) only runs once, at the first bad event.
 */
export async function diagnoseEvent(db: Kysely<Database>, row: ChainRow, prev: { seq: number; hash: string }): Promise<AuditProblem | undefined> {
  const selfConsistent = isHexHash(row.hash) && hashAuditEvent(row.prev_hash, row) === row.hash;
  const linked = row.prev_hash === prev.hash;
  // A gap with an intact link is a sequence number a rolled-back transaction never used (events
  // chained by migration 002); only the link says whether an event is missing.
  if (selfConsistent && linked) return undefined;
  const { seq } = row;

  if (!isHexHash(row.hash)) {
    return { kind: 'broken_link', seq, message: `event ${seq} carries no hash: it was written around the audit log` };
  }
  const belongsAt = await findRightfulPlace(db, row);
  if (belongsAt !== undefined) {
    return { kind: 'reordered', seq, message: `event ${seq} holds the event hashed for seq ${belongsAt}: events were moved` };
  }
  if (linked) {
    return { kind: 'changed', seq, message: `event ${seq} does not match its hash: its content was changed after it was written` };
  }
  if (seq > prev.seq + 1) {
    const missing = seq - 1 === prev.seq + 1 ? `event ${prev.seq + 1} is` : `events ${prev.seq + 1}..${seq - 1} are`;
    return { kind: 'deleted', seq, message: `${missing} missing: event ${seq} links to a hash that is no longer in the chain` };
  }
  return {
    kind: 'broken_link',
    seq,
    message: selfConsistent
      ? `event ${seq} does not link to event ${prev.seq}: it was inserted, or event ${prev.seq} was rewritten with a recomputed hash`
      : `event ${seq} neither matches its hash nor links to event ${prev.seq}: it was forged or overwritten`,
  };
}

/** The seq this row's content was hashed for, when that is not its own: the mark of a moved event. */
async function findRightfulPlace(db: Kysely<Database>, row: ChainRow): Promise<number | undefined> {
  const neighbours = await db
    .selectFrom('audit_events')
    .select(['seq', 'prev_hash', 'hash'])
    .where('seq', '>=', row.seq - REORDER_WINDOW)
    .where('seq', '<=', row.seq + REORDER_WINDOW)
    .where('seq', '!=', row.seq)
    .orderBy('seq')
    .execute();
  for (const other of neighbours) {
    const otherSeq = Number(other.seq);
    const asThere = { ...row, seq: otherSeq };
    // Content swapped, hashes left in place: the content fits the other position's link and hash.
    if (hashAuditEvent(other.prev_hash, asThere) === other.hash) return otherSeq;
    // Whole rows swapped with their hashes: the row is self-consistent, only under another seq.
    if (hashAuditEvent(row.prev_hash, asThere) === row.hash) return otherSeq;
  }
  return undefined;
}
