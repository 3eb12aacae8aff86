import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import type { Database } from '../store/index.js';
import { appendAuditEvent, appendAuditEvents, type UnchainedEvent } from './append-audit-event.js';
import { createAppendQueue } from './append-queue.js';
import { canonicalJson } from './canonical-json.js';

export interface AuditEvent {
  type: string;
  outcome: 'success' | 'failure' | 'info';
  /** Stable reason code for failures (e.g. `webauthn_origin_mismatch`). */
  code?: string | undefined;
  userId?: string | undefined;
  /** Who did it: `user:<id>`, `cli`, `admin:<id>`, `system`. */
  actor?: string | undefined;
  ip?: string | undefined;
  /** Details for investigators. Never a secret: no tokens, passwords, codes or session ids. */
  detail?: Record<string, unknown>;
}

export interface StoredAuditEvent extends Required<Omit<AuditEvent, 'detail'>> {
  seq: number;
  at: number;
  detail: Record<string, unknown>;
}

export interface AuditLog {
  /** Appends an event; pass the transaction when the event belongs to a state change. */
  record(event: AuditEvent, db?: Kysely<Database>): Promise<void>;
  /**
   * Appends events in order inside the caller's transaction: a bulk change audited item by item (one
   * event per revoked token) with a few multi-row inserts rather than three statements per event.
   */
  recordMany(events: readonly AuditEvent[], trx: Kysely<Database>): Promise<void>;
  list(filter?: { type?: string; userId?: string; since?: number; limit?: number }): Promise<StoredAuditEvent[]>;
}

// Rows per multi-row insert: within both engines' bind-parameter limits (11 per row).
const MANY_BATCH = 2000;

/**
 * The append-only, hash-chained audit table. Events are never updated by the application; only
 * retention (prune-audit-log.ts) deletes them, leaving a signed checkpoint.
 */
export function createAuditLog({ db, clock }: { db: Kysely<Database>; clock: Clock }): AuditLog {
  const queue = createAppendQueue(db);
  const rowOf = (event: AuditEvent): UnchainedEvent => ({
    at: clock.now(),
    type: event.type,
    outcome: event.outcome,
    code: event.code ?? null,
    user_id: event.userId ?? null,
    actor: event.actor ?? null,
    ip: event.ip ?? null,
    // Stored canonical, so the text read back is byte for byte what the hash covered.
    detail: canonicalJson(event.detail ?? {}),
  });
  return {
    async record(event, target = db) {
      const row = rowOf(event);
      // Inside the caller's transaction the event commits or rolls back with its state change (and the
      // head stays locked until then); alone it joins the next group commit.
      if (target.isTransaction) await appendAuditEvent(target, row);
      else if (target === db) await queue.append(row);
      else await target.transaction().execute((trx) => appendAuditEvent(trx, row));
    },
    async recordMany(events, trx) {
      if (!trx.isTransaction) throw new Error('recordMany: events recorded together belong to a state change: pass its transaction');
      for (let i = 0; i < events.length; i += MANY_BATCH) await appendAuditEvents(trx, events.slice(i, i + MANY_BATCH).map(rowOf));
    },
    async list(filter = {}) {
      let query = db.selectFrom('audit_events').selectAll().orderBy('seq', 'desc').limit(filter.limit ?? 100);
      if (filter.type) query = query.where('type', '=', filter.type);
      if (filter.userId) query = query.where('user_id', '=', filter.userId);
      if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
      const rows = await query.execute();
      return rows.map((row) => ({
        seq: Number(row.seq),
        at: Number(row.at),
        type: row.type,
        outcome: row.outcome,
        code: row.code ?? '',
        userId: row.user_id ?? '',
        actor: row.actor ?? '',
        ip: row.ip ?? '',
        detail: JSON.parse(row.detail) as Record<string, unknown>,
      }));
    },
  };
}
