import type { Kysely } from 'kysely';
import type { Amr } from '../identity/index.js';
import type { Database } from '../store/index.js';
import { containsText } from './like-pattern.js';

export interface LiveSession {
  handle: string;
  userId: string;
  email: string;
  amr: Amr[];
  ip: string;
  userAgent: string;
  createdAt: number;
  lastSeenAt: number;
  /** Apps this session has signed in to (the access proxy's handshakes). */
  apps: string[];
}

export interface SessionFilter {
  /** Part of an email, or an exact address. */
  q?: string;
  limit: number;
  /** Counted exactly up to this many; beyond, the page says "more than" (default SESSION_COUNT_CAP). */
  countCap?: number;
}

export const SESSION_COUNT_CAP = 1000;

/**
 * Live portal sessions, most recently used first: a page of rows through `sessions_last_seen`, then
 * their apps in one query. A search finds the matching users first (a scan of the users table, not of
 * every session joined to its user). The count stops at the cap: an exact count of 50,000
 * live sessions was most of the page's time. Read-only; revocation goes through the identity capability.
 */
export async function listLiveSessions(db: Kysely<Database>, now: number, filter: SessionFilter): Promise<{ sessions: LiveSession[]; total: number; more: boolean }> {
  let base = db.selectFrom('sessions').where('sessions.revoked_at', 'is', null).where('sessions.expires_at', '>', now);
  const q = filter.q?.trim();
  if (q) {
    const matching = db.selectFrom('users').select('users.id').where(containsText('users.email', q.toLowerCase()));
    base = base.where((eb) => eb.or([eb('sessions.user_id', 'in', matching), eb('sessions.ip', '=', q)]));
  }
  const rows = await base
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id_hash', 'sessions.user_id', 'users.email', 'sessions.amr', 'sessions.ip', 'sessions.user_agent', 'sessions.created_at', 'sessions.last_seen_at'])
    .orderBy('sessions.last_seen_at', 'desc')
    .limit(filter.limit)
    .execute();
  const cap = filter.countCap ?? SESSION_COUNT_CAP;
  const capped = base.select('sessions.id_hash').limit(cap + 1).as('live');
  const counted = Number((await db.selectFrom(capped).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n ?? 0);
  const hashes = rows.map((row) => row.id_hash);
  const apps = new Map<string, string[]>();
  if (hashes.length > 0) {
    const appRows = await db.selectFrom('app_sessions').select(['session_hash', 'app']).where('session_hash', 'in', hashes).execute();
    for (const row of appRows) apps.set(row.session_hash, [...new Set([...(apps.get(row.session_hash) ?? []), row.app])]);
  }
  return {
    total: Math.min(counted, cap),
    more: counted > cap,
    sessions: rows.map((row) => ({
      handle: row.id_hash.slice(0, 16),
      userId: row.user_id,
      email: row.email,
      amr: JSON.parse(row.amr) as Amr[],
      ip: row.ip,
      userAgent: row.user_agent,
      createdAt: Number(row.created_at),
      lastSeenAt: Number(row.last_seen_at),
      apps: (apps.get(row.id_hash) ?? []).sort(),
    })),
  };
}
