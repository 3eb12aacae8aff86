import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

export interface AuditFilter {
  type?: string;
  outcome?: 'success' | 'failure' | 'info';
  userId?: string;
  ip?: string;
  code?: string;
  /** Inclusive lower bound on `at` (ms). */
  since?: number;
  /** Exclusive upper bound on `at` (ms). */
  until?: number;
  /** Keyset cursor: events older than this seq's event (newest first; never OFFSET on a long log). */
  before?: number;
  limit: number;
}

export interface AuditRow {
  seq: number;
  at: number;
  type: string;
  outcome: string;
  code: string | null;
  email: string | null;
  userId: string | null;
  actor: string | null;
  ip: string | null;
  detail: string;
  hash: string;
}

/**
 * A page of audit events, newest first by (at, seq): the order of `audit_events_type_at`,
 * `audit_events_at`, `audit_events_user` and `audit_events_ip` (seq is the row id on SQLite), so each
 * filter reads one index range and stops after `limit + 1` rows. `next` is the cursor of the next
 * page, or undefined on the last one.
 */
export async function listAuditEvents(db: Kysely<Database>, filter: AuditFilter): Promise<{ events: AuditRow[]; next?: number }> {
  let query = db
    .selectFrom('audit_events')
    .leftJoin('users', 'users.id', 'audit_events.user_id')
    .select(['audit_events.seq', 'audit_events.at', 'audit_events.type', 'audit_events.outcome', 'audit_events.code', 'audit_events.user_id', 'audit_events.actor', 'audit_events.ip', 'audit_events.detail', 'audit_events.hash', 'users.email']);
  if (filter.type !== undefined) query = query.where('audit_events.type', '=', filter.type);
  if (filter.outcome !== undefined) query = query.where('audit_events.outcome', '=', filter.outcome);
  if (filter.userId !== undefined) query = query.where('audit_events.user_id', '=', filter.userId);
  if (filter.ip !== undefined) query = query.where('audit_events.ip', '=', filter.ip);
  if (filter.code !== undefined) query = query.where('audit_events.code', '=', filter.code);
  if (filter.since !== undefined) query = query.where('audit_events.at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('audit_events.at', '<', filter.until);
  if (filter.before !== undefined) {
    const cursor = await db.selectFrom('audit_events').select('at').where('seq', '=', filter.before).executeTakeFirst();
    // Retention may have deleted the cursor's event: its seq alone still orders what is older.
    const before = filter.before;
    if (cursor) {
      const at = Number(cursor.at);
      // The plain bound first: it is what an index on `at` can range over; the OR only breaks ties.
      query = query.where('audit_events.at', '<=', at).where((eb) => eb.or([eb('audit_events.at', '<', at), eb('audit_events.seq', '<', before)]));
    } else {
      query = query.where('audit_events.seq', '<', before);
    }
  }
  const rows = await query.orderBy('audit_events.at', 'desc').orderBy('audit_events.seq', 'desc').limit(filter.limit + 1).execute();
  const events = rows.slice(0, filter.limit).map((row) => ({
    seq: Number(row.seq),
    at: Number(row.at),
    type: row.type,
    outcome: row.outcome,
    code: row.code,
    email: row.email ?? null,
    userId: row.user_id,
    actor: row.actor,
    ip: row.ip,
    detail: row.detail,
    hash: row.hash,
  }));
  return rows.length > filter.limit ? { events, next: events.at(-1)!.seq } : { events };
}

/** True when the log holds an event of `type`: one indexed probe, for a type no list of ours names. */
export async function auditTypeRecorded(db: Kysely<Database>, type: string): Promise<boolean> {
  return (await db.selectFrom('audit_events').select('seq').where('type', '=', type).limit(1).executeTakeFirst()) !== undefined;
}

/** The user id of a directory email, for the user filter. */
export async function userIdOfEmail(db: Kysely<Database>, email: string): Promise<string | undefined> {
  return (await db.selectFrom('users').select('id').where('email', '=', email.trim().toLowerCase()).executeTakeFirst())?.id;
}
