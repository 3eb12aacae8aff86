import type { Kysely } from 'kysely';
import type { Amr, User } from '../identity/index.js';
import type { Database } from '../store/index.js';
import { containsText, containsTextAnyCase } from './like-pattern.js';

/** Which users a list shows: everyone, active users without a key, or disabled users. */
export type UserListFilter = 'all' | 'password-only' | 'disabled';
export const USER_LIST_FILTERS: readonly UserListFilter[] = ['all', 'password-only', 'disabled'];

/** A directory user with what the list shows about how they sign in. */
export interface UserListRow extends User {
  keys: number;
  password: boolean;
  totp: boolean;
}

export interface UserListQuery {
  /** Part of an email or a name. */
  q?: string;
  filter: UserListFilter;
  /** Keyset pagination: users whose email sorts after this one. */
  after?: string;
  limit: number;
}

/**
 * A page of users by email (the unique index on email orders and pages them), then their groups, key
 * counts and legacy factors in three queries for the whole page. "Password-only" is an active user
 * with no registered key: only a password and code, or nothing yet (the number to drive to zero).
 */
export async function listUsers(db: Kysely<Database>, query: UserListQuery): Promise<{ users: UserListRow[]; total: number; more: boolean }> {
  let base = db.selectFrom('users');
  const q = query.q?.trim();
  if (q) base = base.where((eb) => eb.or([containsText('users.email', q.toLowerCase()), containsTextAnyCase('users.name', q)]));
  if (query.filter === 'disabled') base = base.where('users.status', '=', 'disabled');
  if (query.filter === 'password-only') {
    base = base
      .where('users.status', '=', 'active')
      .where((eb) => eb.not(eb.exists(eb.selectFrom('credentials').select('credentials.id').whereRef('credentials.user_id', '=', 'users.id'))));
  }
  const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n ?? 0);
  const paged = query.after ? base.where('users.email', '>', query.after) : base;
  const rows = await paged
    .select(['users.id', 'users.email', 'users.name', 'users.status', 'users.reenroll_required', 'users.created_at'])
    .orderBy('users.email')
    .limit(query.limit + 1)
    .execute();
  const page = rows.slice(0, query.limit);
  const ids = page.map((row) => row.id);
  const groups = new Map<string, string[]>();
  const keys = new Map<string, number>();
  const legacy = new Map<string, { password: boolean; totp: boolean }>();
  if (ids.length > 0) {
    const [groupRows, keyRows, legacyRows] = await Promise.all([
      db.selectFrom('group_members').select(['user_id', 'group_name']).where('user_id', 'in', ids).orderBy('group_name').execute(),
      db.selectFrom('credentials').select(['user_id', (eb) => eb.fn.countAll().as('n')]).where('user_id', 'in', ids).groupBy('user_id').execute(),
      legacyFactorsOf(db, ids),
    ]);
    for (const row of groupRows) groups.set(row.user_id, [...(groups.get(row.user_id) ?? []), row.group_name]);
    for (const row of keyRows) keys.set(row.user_id, Number(row.n));
    for (const [id, factors] of legacyRows) legacy.set(id, factors);
  }
  return {
    total,
    more: rows.length > query.limit,
    users: page.map((row) => ({
      id: row.id,
      email: row.email,
      name: row.name,
      status: row.status,
      reenrollRequired: Number(row.reenroll_required) === 1,
      groups: groups.get(row.id) ?? [],
      keys: keys.get(row.id) ?? 0,
      password: legacy.get(row.id)?.password ?? false,
      totp: legacy.get(row.id)?.totp ?? false,
      createdAt: Number(row.created_at),
    })),
  };
}

/** Whether each user has a password and a TOTP secret: the columns' presence, never their values. */
async function legacyFactorsOf(db: Kysely<Database>, ids: string[]): Promise<Map<string, { password: boolean; totp: boolean }>> {
  const rows = await db
    .selectFrom('legacy_factors')
    .select((eb) => ['user_id', eb('password_hash', 'is not', null).as('has_password'), eb('totp_secret', 'is not', null).as('has_totp')])
    .where('user_id', 'in', ids)
    .execute();
  // SQLite answers 0/1, PostgreSQL true/false.
  return new Map(rows.map((row) => [row.user_id, { password: Boolean(Number(row.has_password)), totp: Boolean(Number(row.has_totp)) }]));
}

export interface UserKey {
  id: string;
  name: string;
  authenticatorClass: string;
  model: string | null;
  backedUp: boolean;
  addedIp: string | null;
  addedUserAgent: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface UserLiveSession {
  handle: string;
  amr: Amr[];
  ip: string;
  userAgent: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface UserProfile {
  user: UserListRow;
  keys: UserKey[];
  sessions: UserLiveSession[];
  /** Enrollment links not yet used and not expired: each lets whoever holds it add a key. */
  openInvites: { createdAt: number; expiresAt: number; createdBy: string | null }[];
}

const SESSIONS_SHOWN = 100;

/** One user's page: the profile, keys (never their public keys), live sessions and open invites. */
export async function userProfile(db: Kysely<Database>, userId: string, now: number): Promise<UserProfile | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['id', 'email', 'name', 'status', 'reenroll_required', 'created_at'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!row) return undefined;
  const [groupRows, keyRows, legacy, sessionRows, inviteRows] = await Promise.all([
    db.selectFrom('group_members').select('group_name').where('user_id', '=', userId).orderBy('group_name').execute(),
    db
      .selectFrom('credentials')
      .select(['id', 'name', 'authenticator_class', 'model', 'backed_up', 'added_ip', 'added_user_agent', 'created_at', 'last_used_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute(),
    legacyFactorsOf(db, [userId]),
    db
      .selectFrom('sessions')
      .select(['id_hash', 'amr', 'ip', 'user_agent', 'created_at', 'last_seen_at'])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('last_seen_at', 'desc')
      .limit(SESSIONS_SHOWN)
      .execute(),
    db
      .selectFrom('invites')
      .select(['created_at', 'expires_at', 'created_by'])
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .orderBy('created_at', 'desc')
      .limit(10)
      .execute(),
  ]);
  const factors = legacy.get(userId) ?? { password: false, totp: false };
  return {
    user: {
      id: row.id,
      email: row.email,
      name: row.name,
      status: row.status,
      reenrollRequired: Number(row.reenroll_required) === 1,
      groups: groupRows.map((g) => g.group_name),
      keys: keyRows.length,
      ...factors,
      createdAt: Number(row.created_at),
    },
    keys: keyRows.map((k) => ({
      id: k.id,
      name: k.name,
      authenticatorClass: k.authenticator_class,
      model: k.model,
      backedUp: Number(k.backed_up) === 1,
      addedIp: k.added_ip,
      addedUserAgent: k.added_user_agent,
      createdAt: Number(k.created_at),
      lastUsedAt: k.last_used_at === null ? null : Number(k.last_used_at),
    })),
    sessions: sessionRows.map((s) => ({
      handle: s.id_hash.slice(0, 16),
      amr: JSON.parse(s.amr) as Amr[],
      ip: s.ip,
      userAgent: s.user_agent,
      createdAt: Number(s.created_at),
      lastSeenAt: Number(s.last_seen_at),
    })),
    openInvites: inviteRows.map((i) => ({ createdAt: Number(i.created_at), expiresAt: Number(i.expires_at), createdBy: i.created_by })),
  };
}
