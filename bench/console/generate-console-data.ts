/**
 * The admin console's figures need a full organisation in the database: users (keys, passwords,
 * disabled, groups), live sessions, a month of DNS query log and of audit events. This writes them
 * straight into a Gatehouse store (bench and test code; production never writes tables by hand), in
 * multi-row INSERTs grouped into transactions, and prints progress with rates.
 *
 * The audit events go through the audit capability's own append (`appendAuditEvents`, one batch per
 * transaction, the head row locked like any append), so they extend whatever chain is already there
 * and `verifyAuditChain` still passes. Everything is drawn from a seeded PRNG: the same data on every
 * run and on both engines.
 */
import { hash as argon2Hash } from '@node-rs/argon2';
import type { Insertable, Kysely } from 'kysely';
import { appendAuditEvents, type UnchainedEvent } from '../../src/audit/append-audit-event.js';
import type { Database, Dialect } from '../../src/store/index.js';
import { auditEventMaker, type BenchUser } from './console-audit-events.js';
import {
  APPS, base64urlOf, DAY_MS, DNS_PROTOCOLS, DNS_TYPES, dnsNameSampler, FIRST, GROUPS, hex, LAST, pick, seededRandom, SPAN_MS, USER_AGENTS, uuidOf, weighted, workingHoursTimes, type Rng,
} from './console-data-shapes.js';

export interface ConsoleDataCounts {
  users: number;
  sessions: number;
  dnsQueries: number;
  auditEvents: number;
}

/** The figure (10,000 users, 50,000 sessions, 1,000,000 DNS rows, 200,000 audit events) times `scale`. */
export function consoleDataCounts(scale: number): ConsoleDataCounts {
  const of = (n: number) => Math.max(1, Math.round(n * scale));
  return { users: Math.max(4, of(10_000)), sessions: of(50_000), dnsQueries: of(1_000_000), auditEvents: of(200_000) };
}

export interface GenerateConsoleDataOptions {
  db: Kysely<Database>;
  dialect: Dialect;
  now: number;
  counts: ConsoleDataCounts;
  seed?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Seals a TOTP secret as the identity capability stores it; without it, legacy users have a password only. */
  sealTotpSecret?: (userId: string, secret: string) => string;
}

export interface GeneratedConsoleData {
  /** Rows written per table. */
  rows: Record<string, number>;
  /** Seconds per table, and in all. */
  seconds: Record<string, number>;
  /** A user with a hardware key, sessions and events: for `/admin/users/<id>`. */
  sampleUserId: string;
  /** The most asked DNS name: for `/admin/dns?name=`. */
  busiestName: string;
  passwordOnlyUsers: number;
}

// Bound parameters per statement: SQLite's limit is 32,766, PostgreSQL's 65,535.
const MAX_PARAMS: Record<Dialect, number> = { sqlite: 32_000, postgres: 65_000 };
const MAX_ROWS_PER_STATEMENT = 5_000;
const ROWS_PER_TRANSACTION = 50_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

type Table = keyof Database & string;

/** Writes `total` rows made by `make(i)`, in multi-row INSERTs, several per transaction. */
async function writeRows<T extends Table>(
  options: GenerateConsoleDataOptions,
  seconds: Record<string, number>,
  table: T,
  total: number,
  make: (i: number) => Insertable<Database[T]>,
): Promise<number> {
  if (total === 0) return 0;
  const started = performance.now();
  let lastLog = started;
  let written = 0;
  let perStatement = 0;
  while (written < total) {
    const end = Math.min(total, written + ROWS_PER_TRANSACTION);
    await options.db.transaction().execute(async (trx) => {
      while (written < end) {
        const first = make(written);
        perStatement ||= Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(MAX_PARAMS[options.dialect] / Object.keys(first).length));
        const rows = [first];
        for (let i = written + 1; i < Math.min(end, written + perStatement); i++) rows.push(make(i));
        // A generic table: Kysely cannot check the row type against a type parameter.
        await trx.insertInto(table).values(rows as never).execute();
        written += rows.length;
      }
    });
    const now = performance.now();
    if (options.log && (now - lastLog > 2_000 || written === total) && total >= 10_000) {
      options.log(`  ${table.padEnd(14)} ${fmt(written).padStart(9)} / ${fmt(total)}  ${fmt((written * 1000) / (now - started))} rows/s`);
      lastLog = now;
    }
  }
  seconds[table] = Number(((performance.now() - started) / 1000).toFixed(2));
  return written;
}

/** Users with their groups, keys and legacy factors. */
async function writeUsers(options: GenerateConsoleDataOptions, rng: Rng, rows: Record<string, number>, seconds: Record<string, number>): Promise<BenchUser[]> {
  const { now, counts } = options;
  const methodOf = weighted(['hwk', 'swk', 'password', 'password+totp'] as const, [55, 30, 8, 7]);
  const users: BenchUser[] = Array.from({ length: counts.users }, (_, i) => {
    // The first user is the sample one: a hardware key, active.
    const method = i === 0 ? 'hwk' : methodOf(rng);
    const webauthn = method === 'hwk' || method === 'swk';
    return { id: uuidOf(rng), email: `${pick(rng, FIRST)}.${pick(rng, LAST)}.${i}@acme.test`, method, credentialId: webauthn ? base64urlOf(rng, 32) : undefined, disabled: i > 0 && rng() < 0.03 };
  });
  const createdAt = users.map(() => now - Math.floor(rng() * 400 * DAY_MS));
  rows.users = await writeRows(options, seconds, 'users', users.length, (i) => {
    const u = users[i]!;
    const [first, last] = u.email.split('.') as [string, string];
    return { id: u.id, email: u.email, name: `${first[0]!.toUpperCase()}${first.slice(1)} ${last[0]!.toUpperCase()}${last.slice(1)}`, status: u.disabled ? ('disabled' as const) : ('active' as const), reenroll_required: rng() < 0.01 ? 1 : 0, created_at: createdAt[i]!, updated_at: createdAt[i]! };
  });

  const memberships: { user_id: string; group_name: string; added_at: number }[] = [];
  users.forEach((u, i) => {
    const groups = new Set([pick(rng, GROUPS), ...(rng() < 0.4 ? [pick(rng, GROUPS)] : [])]);
    if (i > 0 && i <= 10) groups.add('admins');
    for (const group of groups) memberships.push({ user_id: u.id, group_name: group, added_at: createdAt[i]! });
  });
  rows.group_members = await writeRows(options, seconds, 'group_members', memberships.length, (i) => memberships[i]!);

  const keys: Insertable<Database['credentials']>[] = [];
  users.forEach((u, i) => {
    if (!u.credentialId) return;
    const hwk = u.method === 'hwk';
    const key = (id: string, name: string, cls: 'hwk' | 'swk') => ({
      id, user_id: u.id, name, public_key: base64urlOf(rng, 77), counter: cls === 'hwk' ? Math.floor(rng() * 500) : 0, aaguid: cls === 'hwk' ? 'ee882879-721c-4913-9775-3dfcce97072a' : 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd',
      transports: cls === 'hwk' ? '["nfc","usb"]' : '["hybrid","internal"]', authenticator_class: cls, backed_up: cls === 'swk' ? 1 : 0, created_at: createdAt[i]!, last_used_at: now - Math.floor(rng() * SPAN_MS),
      model: cls === 'hwk' ? 'YubiKey 5 NFC' : null, attestation: cls === 'hwk' ? 'packed' : 'none', added_ip: `10.20.${Math.floor(rng() * 40)}.${1 + Math.floor(rng() * 250)}`, added_user_agent: pick(rng, USER_AGENTS),
    });
    keys.push(key(u.credentialId, hwk ? 'YubiKey' : 'iCloud Keychain', hwk ? 'hwk' : 'swk'));
    // A spare: many hardware-key users keep a second key, some add a passkey on their phone.
    if (hwk && rng() < 0.5) keys.push(key(base64urlOf(rng, 32), 'Spare YubiKey', 'hwk'));
    else if (rng() < 0.2) keys.push(key(base64urlOf(rng, 32), 'Phone passkey', 'swk'));
  });
  rows.credentials = await writeRows(options, seconds, 'credentials', keys.length, (i) => keys[i]!);

  // One real argon2id hash (cheap parameters) for every legacy user: the bench never signs them in.
  const passwordHash = await argon2Hash(`bench-${hex(rng, 16)}`, { memoryCost: 1024, timeCost: 1, parallelism: 1 });
  const legacy = users.filter((u) => u.method === 'password' || u.method === 'password+totp');
  rows.legacy_factors = await writeRows(options, seconds, 'legacy_factors', legacy.length, (i) => {
    const u = legacy[i]!;
    const totp = u.method === 'password+totp' && options.sealTotpSecret ? options.sealTotpSecret(u.id, hex(rng, 32).toUpperCase()) : null;
    return { user_id: u.id, password_hash: passwordHash, totp_secret: totp, totp_last_step: null, updated_at: now - Math.floor(rng() * SPAN_MS) };
  });
  return users;
}

/** Writes the whole data set; returns what the bench needs to build its page paths. */
export async function generateConsoleData(options: GenerateConsoleDataOptions): Promise<GeneratedConsoleData> {
  const { now, counts, log } = options;
  const rng = seededRandom(options.seed ?? 16);
  const rows: Record<string, number> = {};
  const seconds: Record<string, number> = {};
  const started = performance.now();

  const users = await writeUsers(options, rng, rows, seconds);
  const active = users.filter((u) => !u.disabled);

  // Sessions: all live (unexpired, unrevoked), last used any time in the last 30 days.
  const lastSeen = workingHoursTimes(rng, counts.sessions, now);
  const sessions = Array.from({ length: counts.sessions }, (_, i) => ({ idHash: hex(rng, 64), user: i === 0 ? users[0]! : pick(rng, active) }));
  const amrOf: Record<BenchUser['method'], string> = { hwk: '["hwk","mfa"]', swk: '["swk","mfa"]', password: '["pwd"]', 'password+totp': '["pwd","otp","mfa"]' };
  rows.sessions = await writeRows(options, seconds, 'sessions', sessions.length, (i) => {
    const { idHash, user } = sessions[i]!;
    const seen = lastSeen[i]!;
    const created = seen - Math.floor(rng() * 8 * 3_600_000);
    const webauthn = user.method === 'hwk' || user.method === 'swk';
    return {
      id_hash: idHash, user_id: user.id, amr: amrOf[user.method], phishing_resistant_at: webauthn ? created : null, ip: `10.20.${Math.floor(rng() * 40)}.${1 + Math.floor(rng() * 250)}`,
      user_agent: pick(rng, USER_AGENTS), created_at: created, last_seen_at: seen, expires_at: now + 3_600_000 + Math.floor(rng() * 7 * DAY_MS), revoked_at: null, revoked_reason: null, credential_id: webauthn ? user.credentialId! : null,
    };
  });
  const appSessions: Insertable<Database['app_sessions']>[] = [];
  sessions.forEach((s, i) => {
    if (rng() < 0.6) return;
    for (const app of new Set([pick(rng, APPS), pick(rng, APPS)])) appSessions.push({ id_hash: hex(rng, 64), session_hash: s.idHash, app, created_at: lastSeen[i]! });
  });
  rows.app_sessions = await writeRows(options, seconds, 'app_sessions', appSessions.length, (i) => appSessions[i]!);

  // DNS: a fleet of client addresses, three in four tied to a user (DoH personal URL or a known device).
  const names = dnsNameSampler(rng);
  const clients = Array.from({ length: Math.max(10, Math.round(counts.users / 4)) }, (_, i) => ({ address: `10.${30 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, userId: rng() < 0.75 ? pick(rng, active).id : null }));
  const askedAt = workingHoursTimes(rng, counts.dnsQueries, now);
  rows.dns_queries = await writeRows(options, seconds, 'dns_queries', counts.dnsQueries, (i) => {
    const client = pick(rng, clients);
    const asked = names.sample(rng);
    const answered = asked.verdict === 'allow' || asked.verdict === 'warn';
    const latency = answered ? (rng() < 0.7 ? 0.05 + rng() * 0.5 : 4 + Math.exp(rng() * 4.5)) : 0.05 + rng() * 0.2;
    return { at: askedAt[i]!, client: client.address, user_id: client.userId, protocol: DNS_PROTOCOLS(rng), name: asked.name, type: DNS_TYPES(rng), verdict: asked.verdict, reason: asked.reason, latency_ms: Number(latency.toFixed(3)) };
  });

  // Audit: through the capability's own append, so the chain verifies.
  const auditStarted = performance.now();
  const makeEvent = auditEventMaker(rng, users);
  const happenedAt = workingHoursTimes(rng, counts.auditEvents, now);
  const batch = Math.floor(MAX_PARAMS[options.dialect] / 11 / 500) * 500;
  let lastLog = auditStarted;
  for (let done = 0; done < counts.auditEvents; ) {
    const events: UnchainedEvent[] = [];
    for (let i = done; i < Math.min(counts.auditEvents, done + batch); i++) events.push(makeEvent(happenedAt[i]!));
    await options.db.transaction().execute((trx) => appendAuditEvents(trx, events));
    done += events.length;
    const t = performance.now();
    if (log && (t - lastLog > 2_000 || done === counts.auditEvents) && counts.auditEvents >= 10_000) {
      log(`  ${'audit_events'.padEnd(14)} ${fmt(done).padStart(9)} / ${fmt(counts.auditEvents)}  ${fmt((done * 1000) / (t - auditStarted))} events/s (hash-chained)`);
      lastLog = t;
    }
  }
  rows.audit_events = counts.auditEvents;
  seconds.audit_events = Number(((performance.now() - auditStarted) / 1000).toFixed(2));
  seconds.total = Number(((performance.now() - started) / 1000).toFixed(2));
  return { rows, seconds, sampleUserId: users[0]!.id, busiestName: names.busiest, passwordOnlyUsers: users.filter((u) => !u.credentialId).length };
}
