import type { Kysely } from 'kysely';
import type { ServiceTokens } from '../../credentials/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Database } from '../../store/index.js';

export const HUNT_NAMES = ['password-without-key', 'from-ip', 'resolved-domain', 'new-admins', 'token-use'] as const;
export type HuntName = (typeof HUNT_NAMES)[number];

export interface HuntUser {
  id: string;
  email: string;
  name: string;
  status: 'active' | 'disabled';
  /** Why the hunt lists this user (one line per finding). */
  reasons: string[];
}

export interface HuntSession {
  handle: string;
  userId: string;
  ip: string;
  amr: string[];
  phishingResistant: boolean;
  createdAt: number;
  lastSeenAt: number;
}

/**
 * One row that made a finding: an audit event, a DNS query log row, a group membership, a service
 * token's sighting (a network or app, first and last seen) or its recorded last use.
 */
export interface HuntEvidence {
  source: 'audit' | 'dns_queries' | 'group_members' | 'service_token_sightings' | 'service_tokens';
  /** audit seq or dns_queries id; absent for memberships and token rows. */
  ref?: number;
  at: number;
  type: string;
  outcome?: string;
  code?: string | null;
  userId: string | null;
  ip?: string | null;
  detail: unknown;
}

export interface HuntResult {
  hunt: HuntName;
  params: Record<string, unknown>;
  window: { since: number; until: number };
  users: HuntUser[];
  sessions: HuntSession[];
  evidence: HuntEvidence[];
  /** resolved-domain: the client addresses that asked. */
  clients?: string[];
  /** token-use: per token, where it was used from in the window and its refusals. */
  tokens?: TokenUse[];
  /** True when evidence was cut at the limit (the users list is still complete for what was read). */
  truncated: boolean;
}

/** What the token-use hunt found for one service token. */
export interface TokenUse {
  name: string;
  owner: string;
  status: string;
  /** The last use recorded (whether or not it falls in the window). */
  lastUse: { at: number; ip: string | null; app: string | null; userAgent: string | null } | undefined;
  /** Networks (/24, /48) and apps it was used from or on with a last sighting in the window. */
  networks: { value: string; firstSeenAt: number; lastSeenAt: number }[];
  apps: { value: string; firstSeenAt: number; lastSeenAt: number }[];
  /** Presentations of it refused in the window (`service_token.refused` audit events). */
  refusals: number;
}

export interface HuntContext {
  db: Kysely<Database>;
  clock: Clock;
  adminGroups: readonly string[];
  /** Service tokens, for the token-use hunt. */
  tokens?: Pick<ServiceTokens, 'show' | 'sightings'> | undefined;
}

/** Evidence kept per hunt: enough to investigate, bounded so a hunt over a busy log stays small. */
export const EVIDENCE_LIMIT = 10_000;
const CHUNK = 500;

function chunks<T>(values: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += CHUNK) out.push(values.slice(i, i + CHUNK));
  return out;
}

/** Users by id with the reasons found for each; ids no longer in `users` are dropped. */
export async function usersWithReasons(ctx: HuntContext, reasons: Map<string, Set<string>>): Promise<HuntUser[]> {
  const out: HuntUser[] = [];
  for (const ids of chunks([...reasons.keys()])) {
    const rows = await ctx.db.selectFrom('users').select(['id', 'email', 'name', 'status']).where('id', 'in', ids).execute();
    for (const row of rows) out.push({ id: row.id, email: row.email, name: row.name, status: row.status, reasons: [...(reasons.get(row.id) ?? [])] });
  }
  return out.sort((a, b) => a.email.localeCompare(b.email));
}

/** Live sessions of the given users (not revoked, not expired). */
export async function liveSessionsOf(ctx: HuntContext, userIds: readonly string[]): Promise<HuntSession[]> {
  const now = ctx.clock.now();
  const out: HuntSession[] = [];
  for (const ids of chunks(userIds)) {
    const rows = await ctx.db
      .selectFrom('sessions')
      .select(['id_hash', 'user_id', 'ip', 'amr', 'phishing_resistant_at', 'created_at', 'last_seen_at'])
      .where('user_id', 'in', ids)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .execute();
    out.push(...rows.map(toHuntSession));
  }
  return out.sort((a, b) => a.createdAt - b.createdAt);
}

export function toHuntSession(row: Pick<Database['sessions'], 'id_hash' | 'user_id' | 'ip' | 'amr' | 'phishing_resistant_at' | 'created_at' | 'last_seen_at'>): HuntSession {
  let amr: string[] = [];
  try {
    amr = JSON.parse(row.amr) as string[];
  } catch {
    amr = [];
  }
  return {
    handle: row.id_hash.slice(0, 16),
    userId: row.user_id,
    ip: row.ip,
    amr,
    phishingResistant: row.phishing_resistant_at !== null,
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
  };
}

export function addReason(reasons: Map<string, Set<string>>, userId: string | null, reason: string): void {
  if (!userId) return;
  let set = reasons.get(userId);
  if (!set) reasons.set(userId, (set = new Set()));
  set.add(reason);
}

export function parseDetail(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
