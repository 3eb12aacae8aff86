import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { NotFoundError } from '../lib/errors.js';
import type { Database } from '../store/index.js';

export interface AuditQuery {
  type?: string;
  /** A user id, or an email looked up in `users`. */
  user?: string;
  ip?: string;
  /** Matches `detail.app`. */
  app?: string;
  /** Inclusive lower bound on `at` (ms). */
  since?: number;
  /** Exclusive upper bound on `at` (ms). */
  until?: number;
  /** Only events after this seq: the cursor for the next page. */
  afterSeq?: number;
  limit?: number;
}

export interface AuditRecord {
  seq: number;
  at: number;
  type: string;
  outcome: string;
  code: string | null;
  userId: string | null;
  actor: string | null;
  ip: string | null;
  detail: unknown;
  hash: string;
}

const MAX_LIMIT = 100_000;

/** Events matching every given filter, oldest first (hunts read forward; `afterSeq` pages on). */
export async function queryAudit(db: Kysely<Database>, filter: AuditQuery = {}): Promise<AuditRecord[]> {
  const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 1000)), MAX_LIMIT);
  const userId = filter.user === undefined ? undefined : await resolveUser(db, filter.user);
  const out: AuditRecord[] = [];
  let cursor = filter.afterSeq ?? 0;
  for (;;) {
    let query = db.selectFrom('audit_events').selectAll().where('seq', '>', cursor).orderBy('seq').limit(Math.max(limit - out.length, 500));
    if (filter.type !== undefined) query = query.where('type', '=', filter.type);
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    if (filter.ip !== undefined) query = query.where('ip', '=', filter.ip);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('at', '<', filter.until);
    // `detail` is JSON text written without whitespace: a substring match narrows the scan on both
    // engines without a JSON cast (which would abort the whole query on one hand-edited row); the
    // exact comparison on the parsed detail below decides.
    if (filter.app !== undefined) query = query.where(sql<boolean>`detail like ${`%${escapeLike(`"app":${JSON.stringify(filter.app)}`)}%`} escape '\\'`);
    const rows = await query.execute();
    for (const row of rows) {
      const detail = parseDetail(row.detail);
      if (filter.app !== undefined && (detail as { app?: unknown } | null)?.app !== filter.app) continue;
      out.push({
        seq: Number(row.seq),
        at: Number(row.at),
        type: row.type,
        outcome: row.outcome,
        code: row.code,
        userId: row.user_id,
        actor: row.actor,
        ip: row.ip,
        detail,
        hash: row.hash,
      });
      if (out.length >= limit) return out;
    }
    if (rows.length === 0) return out;
    cursor = Number(rows.at(-1)!.seq);
  }
}

async function resolveUser(db: Kysely<Database>, user: string): Promise<string> {
  if (!user.includes('@')) return user;
  const email = user.trim().toLowerCase();
  const row = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  if (!row) throw new NotFoundError(`user ${email}`, 'user_not_found');
  return row.id;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function parseDetail(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
