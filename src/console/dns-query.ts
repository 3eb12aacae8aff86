import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type { Database } from '../store/index.js';

export const QUERY_VERDICTS = ['allow', 'warn', 'block', 'refused', 'error'] as const;
export type QueryVerdict = (typeof QUERY_VERDICTS)[number];

export interface QueryLogFilter {
  /** A whole name, or its beginning with `match: 'prefix'`. */
  name?: string;
  match: 'exact' | 'prefix';
  client?: string;
  userId?: string;
  verdict?: QueryVerdict;
  /** Inclusive lower and exclusive upper bound on the query time, ms. */
  from?: number;
  to?: number;
  /** Keyset cursor: rows strictly older than this (time, then id). */
  before?: { at: number; id: number };
  limit: number;
}

export interface QueryLogRow {
  id: number;
  at: number;
  client: string;
  userId: string | null;
  email: string | null;
  protocol: string;
  name: string;
  type: string;
  verdict: string;
  reason: string;
  latencyMs: number;
}

/**
 * A page of the DNS query log, newest first, by keyset (time, id): every filter is an equality or a
 * range on an indexed column followed by `at` ((name, at), (client, at), (user_id, at),
 * (verdict, at) for verdicts other than allow, (at)), so a page reads about `limit` index entries whatever the table's size, and a
 * deep page costs no more than the first (no OFFSET). Emails come in one query for the page's users.
 */
export async function searchQueryLog(db: Kysely<Database>, filter: QueryLogFilter): Promise<{ rows: QueryLogRow[]; next: { at: number; id: number } | undefined }> {
  let query = db.selectFrom('dns_queries').select(['id', 'at', 'client', 'user_id', 'protocol', 'name', 'type', 'verdict', 'reason', 'latency_ms']);
  if (filter.name) {
    if (filter.match === 'exact') query = query.where('name', '=', filter.name);
    else if (db.getExecutor().adapter instanceof PostgresAdapter) {
      // LIKE is right under any collation (a range on a non-C collation would skip names); the
      // index serves it under the C collation, otherwise the time index is walked with the filter.
      const escaped = filter.name.replace(/[\\%_]/g, (c) => `\\${c}`);
      query = query.where(sql<boolean>`name like ${`${escaped}%`} escape '\\'`);
    } else {
      // SQLite compares text byte by byte: every name starting with the prefix sorts in this range,
      // which the (name, at) index answers.
      query = query.where('name', '>=', filter.name).where('name', '<', `${filter.name}\u{10FFFF}`);
    }
  }
  if (filter.client) query = query.where('client', '=', filter.client);
  // The partial indexes' own predicates, word for word (018-dns-query-log-filters): SQLite uses a
  // partial index only when the query repeats its condition, PostgreSQL cannot prove it from a parameter.
  if (filter.userId) query = query.where('user_id', '=', filter.userId).where(sql<boolean>`user_id is not null`);
  if (filter.verdict) {
    query = query.where('verdict', '=', filter.verdict);
    if (filter.verdict !== 'allow') query = query.where(sql<boolean>`verdict <> 'allow'`);
  }
  if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('at', '<', filter.to);
  if (filter.before) {
    const { at, id } = filter.before;
    // `at <= ?` is the index range; the pair comparison drops the rows already shown at that instant.
    query = query.where('at', '<=', at).where((eb) => eb.or([eb('at', '<', at), eb('id', '<', id)]));
  }
  const found = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(filter.limit + 1).execute();
  const page = found.slice(0, filter.limit);
  const userIds = [...new Set(page.map((row) => row.user_id).filter((id): id is string => id !== null))];
  const emails = new Map<string, string>();
  if (userIds.length > 0) {
    for (const row of await db.selectFrom('users').select(['id', 'email']).where('id', 'in', userIds).execute()) emails.set(row.id, row.email);
  }
  const last = page.at(-1);
  return {
    rows: page.map((row) => ({
      id: Number(row.id),
      at: Number(row.at),
      client: row.client,
      userId: row.user_id,
      email: row.user_id === null ? null : (emails.get(row.user_id) ?? null),
      protocol: row.protocol,
      name: row.name,
      type: row.type,
      verdict: row.verdict,
      reason: row.reason,
      latencyMs: Number(row.latency_ms),
    })),
    next: found.length > filter.limit && last ? { at: Number(last.at), id: Number(last.id) } : undefined,
  };
}

export interface IpBlockRow {
  cidr: string;
  reason: string;
  createdAt: number;
  createdBy: string | null;
  expiresAt: number | null;
}

/** IP blocks in force (not expired), newest first, with who and when (the runtime list has neither). */
export async function listIpBlocks(db: Kysely<Database>, now: number, limit: number): Promise<IpBlockRow[]> {
  const rows = await db
    .selectFrom('ip_blocks')
    .selectAll()
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ cidr: row.cidr, reason: row.reason, createdAt: Number(row.created_at), createdBy: row.created_by, expiresAt: row.expires_at === null ? null : Number(row.expires_at) }));
}
