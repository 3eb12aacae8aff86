import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { checkpointSignatureValid, listCheckpoints } from './audit-checkpoint.js';
import { checkpointKeyFingerprint, readCheckpointKey } from './checkpoint-key.js';
import { GENESIS_HASH } from './event-hash.js';
import { readChainPage, diagnoseEvent, type ChainRow } from './diagnose-event.js';

export type AuditProblemKind = 'changed' | 'deleted' | 'reordered' | 'broken_link' | 'bad_checkpoint' | 'anchor_mismatch' | 'anchor_pruned';

/** The first thing found wrong, named by the seq of the event (or checkpoint) where it shows. */
export interface AuditProblem {
  kind: AuditProblemKind;
  seq: number;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  problem?: AuditProblem;
  /** Events whose hash and link were checked. */
  events: number;
  start: { from: 'genesis' } | { from: 'checkpoint'; seq: number; hash: string; at: number; keyFingerprint: string };
  /** The last event verified (or the anchor when none): what `audit head` should print. */
  last: { seq: number; hash: string };
  /**
   * How an `anchor` option fared: `matched` against the event itself, `matched_checkpoint` against a
   * signed checkpoint that records it (retention deleted the event). An anchor that retention deleted
   * and no checkpoint records is a failure (`anchor_pruned`), never a pass.
   */
  anchor?: 'matched' | 'matched_checkpoint';
  elapsedMs: number;
  eventsPerSecond: number;
}

export interface VerifyAuditOptions {
  /** Events read per query: memory stays bounded by one page whatever the log's size. */
  pageSize?: number;
  /** Pin the checkpoint key (fingerprint from `audit head`) instead of trusting the one in settings. */
  checkpointKeyFingerprint?: string;
  /** A seq and hash exported earlier (`audit head`): the chain must still hold exactly that event. */
  anchor?: { seq: number; hash: string };
  /**
   * Called after each page with the events verified so far. A server awaits a macrotask here: on
   * SQLite every read is synchronous, and a walk of the whole log would otherwise hold the event loop
   * (every request of the instance) for its whole length.
   */
  onPage?: (verifiedSoFar: number) => Promise<void> | void;
}

type Outcome = Omit<AuditVerification, 'elapsedMs' | 'eventsPerSecond'>;

/**
 * Walks the chain from the newest signed checkpoint (or genesis) to the head, in pages. It proves the
 * log is internally consistent: someone able to write the database could rebuild the whole chain, so
 * compare the head with a copy kept elsewhere (`anchor`, `gatehouse audit head`) to detect that.
 */
export async function verifyAuditChain(db: Kysely<Database>, options: VerifyAuditOptions = {}): Promise<AuditVerification> {
  const started = performance.now();
  let outcome: Outcome;
  for (let attempt = 0; ; attempt++) {
    const checkpointBefore = await latestCheckpointSeq(db);
    outcome = await verifyOnce(db, options);
    // Retention that commits while we stream deletes rows ahead of the cursor and leaves a newer
    // checkpoint: start again from it rather than report the deletion it signed.
    if (outcome.ok || attempt >= 2 || (await latestCheckpointSeq(db)) === checkpointBefore) break;
  }
  const elapsedMs = performance.now() - started;
  return { ...outcome, elapsedMs, eventsPerSecond: elapsedMs > 0 ? Math.round((outcome.events * 1000) / elapsedMs) : 0 };
}

async function latestCheckpointSeq(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('audit_checkpoints').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

async function verifyOnce(db: Kysely<Database>, options: VerifyAuditOptions): Promise<Outcome> {
  const pageSize = options.pageSize ?? 5000;
  const checkpoints = await listCheckpoints(db);
  const base: Outcome = { ok: true, events: 0, start: { from: 'genesis' }, last: { seq: 0, hash: GENESIS_HASH } };
  const fail = (kind: AuditProblemKind, seq: number, message: string, events = 0): Outcome => ({ ...base, ok: false, events, problem: { kind, seq, message } });

  let trusted = options.checkpointKeyFingerprint;
  if (!trusted && checkpoints.length > 0) {
    try {
      trusted = (await readCheckpointKey(db))?.fingerprint;
    } catch (error) {
      return fail('bad_checkpoint', checkpoints[0]!.seq, `the checkpoint key in settings is unreadable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  for (const cp of checkpoints) {
    const fingerprint = checkpointKeyFingerprint(cp.publicKey);
    if (!checkpointSignatureValid(cp)) return fail('bad_checkpoint', cp.seq, `checkpoint at seq ${cp.seq}: the Ed25519 signature does not verify`);
    if (!trusted) return fail('bad_checkpoint', cp.seq, `checkpoint at seq ${cp.seq}: no checkpoint key in settings to check it against`);
    if (fingerprint !== trusted) return fail('bad_checkpoint', cp.seq, `checkpoint at seq ${cp.seq}: signed by ${fingerprint}, not by the trusted key ${trusted}`);
  }
  const cp = checkpoints.at(-1);
  if (cp) base.start = { from: 'checkpoint', seq: cp.seq, hash: cp.hash, at: cp.at, keyFingerprint: checkpointKeyFingerprint(cp.publicKey) };
  let prev = { seq: cp?.seq ?? 0, hash: cp?.hash ?? GENESIS_HASH };
  let events = 0;
  let anchorState: AuditVerification['anchor'];
  const { anchor } = options;
  if (anchor && cp && anchor.seq <= cp.seq) {
    // What a checkpoint proves: its signature covers one (seq, hash), the last event its prune deleted,
    // and that hash commits to every event before it. It does not record the hashes of the events
    // before it, so an anchor inside a pruned range can be checked only when it is exactly a
    // checkpoint's seq. Any other deleted anchor cannot be told from one that never existed: passing
    // it would let whoever can delete rows and sign a checkpoint erase the exported history.
    const recorded = checkpoints.find((checkpoint) => checkpoint.seq === anchor.seq);
    if (!recorded) {
      return fail(
        'anchor_pruned',
        anchor.seq,
        `the anchored event ${anchor.seq} was deleted by retention and no signed checkpoint records its hash (checkpoints record seq ${checkpoints.map((c) => c.seq).join(', ')}): the anchor cannot be checked`,
      );
    }
    if (anchor.hash !== recorded.hash) return fail('anchor_mismatch', anchor.seq, `the checkpoint at seq ${recorded.seq} has hash ${recorded.hash}, the anchor says ${anchor.hash}`);
    anchorState = 'matched_checkpoint';
  }

  if (cp) {
    // Retention deletes everything up to its checkpoint in the same transaction: an older row now
    // can only have been inserted afterwards.
    const stale = await db.selectFrom('audit_events').select('seq').where('seq', '<=', cp.seq).orderBy('seq').limit(1).executeTakeFirst();
    if (stale) return fail('broken_link', Number(stale.seq), `event ${stale.seq} is older than the checkpoint at seq ${cp.seq}, which deleted everything up to it`);
  }

  const walk = async (upTo: number | undefined): Promise<Outcome | undefined> => {
    for (;;) {
      const page = await readChainPage(db, prev.seq, upTo, pageSize);
      if (page.length === 0) return undefined;
      for (const row of page) {
        if (anchor && !anchorState && anchor.seq < row.seq) return fail('anchor_mismatch', anchor.seq, `the anchored event ${anchor.seq} no longer exists`, events);
        const problem = await diagnoseEvent(db, row, prev);
        if (problem) return fail(problem.kind, problem.seq, problem.message, events);
        if (anchor && anchor.seq === row.seq) {
          if (row.hash !== anchor.hash) return fail('anchor_mismatch', row.seq, `event ${row.seq} has hash ${row.hash}, the anchor says ${anchor.hash}: the chain was rebuilt`, events);
          anchorState = 'matched';
        }
        events++;
        prev = { seq: row.seq, hash: row.hash };
      }
      await options.onPage?.(events);
    }
  };

  const streamed = await walk(undefined);
  if (streamed) return streamed;
  // Read after the rows: an append commits its row and the head together, so every legitimate row
  // seen above has seq <= head.seq. Rows committed since are left for the next run.
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) return fail('deleted', prev.seq + 1, 'the audit_head row is missing', events);
  const headSeq = Number(head.seq);
  if (prev.seq > headSeq) {
    const first = await readChainPage(db, headSeq, undefined, 1);
    return fail('broken_link', first[0]?.seq ?? prev.seq, `event ${first[0]?.seq ?? prev.seq} lies beyond the head (seq ${headSeq}): it was written around the audit log`, events);
  }
  if (prev.seq < headSeq) {
    const caughtUp = await walk(headSeq);
    if (caughtUp) return caughtUp;
    if (prev.seq < headSeq) return fail('deleted', prev.seq + 1, `events ${prev.seq + 1}..${headSeq} are missing: the head is at ${headSeq}`, events);
  }
  if (head.hash !== prev.hash) return fail('changed', prev.seq, `event ${prev.seq} was rewritten: the head records hash ${head.hash}, the chain ends in ${prev.hash}`, events);
  if (anchor && !anchorState) return fail('anchor_mismatch', anchor.seq, `the anchored event ${anchor.seq} is beyond the last event ${prev.seq}: the tail was deleted`, events);
  return { ...base, events, last: prev, ...(anchorState ? { anchor: anchorState } : {}) };
}

export type { ChainRow };
