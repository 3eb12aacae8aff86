import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import { randomToken } from '../lib/random.js';
import { hashSecret } from '../lib/secret-hash.js';
import { commitChange, type Change, type Database, type FeedRow, type Store } from '../store/index.js';
import { SessionCache, type SessionCacheOptions } from './session-cache.js';
import { SESSION_FEED, toSessionRow, type Amr, type IssueSessionInput, type RevokeUsersOptions, type SessionRow, type SessionTimeouts, type SessionView } from './session-types.js';

export { SESSION_FEED, type Amr, type IssueSessionInput, type RevokeUsersOptions, type SessionRow, type SessionTimeouts, type SessionView } from './session-types.js';

// Write-behind for last_seen: touching the row on every request would make the hot path wait on the
// database. Idle expiry is rechecked against the database before a session is refused for idleness.
const TOUCH_EVERY_MS = 60_000;
const REVOKED_BEFORE_KEY = 'sessions.revoked_before';

/**
 * Sessions (lucia's design): a 256-bit random id in the cookie, only its SHA-256 stored. Validation reads
 * an in-memory cache; the change feed evicts entries on every instance when a session is revoked, so
 * the next request re-reads the row and is refused. The cache is bounded (LRU) and each entry is
 * re-read after a short TTL: a feed row that is lost or pruned before a slow instance reads it delays
 * a revocation by at most that TTL.
 */
export class SessionManager {
  private readonly cache: SessionCache;
  private readonly dirtyTouches = new Map<string, number>();
  /**
   * Sessions created at or before this time (ms) are refused: "sign everyone out" (incident response).
   * The bound is inclusive here exactly as in revokeAll's UPDATE (`created_at <= cutoff`), so a session
   * issued in the cut-off's own millisecond is refused whether it is judged from this cache or from the
   * rows. Minus infinity until a cut-off is known: no session is refused for its creation time.
   */
  private revokedBefore = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly random: Random,
    private timeouts: SessionTimeouts,
    cacheOptions: SessionCacheOptions = {},
  ) {
    this.cache = new SessionCache(cacheOptions);
  }

  /** Cached sessions right now (metrics and tests). */
  get cachedCount(): number {
    return this.cache.size;
  }

  setTimeouts(timeouts: SessionTimeouts): void {
    this.timeouts = timeouts;
  }

  /**
   * Creates a session; returns the secret id for the cookie (never stored) and the view. A caller that
   * has just read the (active) user passes `owner`, and the view is built from what was inserted plus
   * the user's groups, without reading the row back.
   */
  async issue(
    input: IssueSessionInput,
    db: Kysely<Database> = this.store.db,
    owner?: { email: string; name: string },
  ): Promise<{ token: string; session: SessionView }> {
    const token = randomToken(this.random, 32);
    const idHash = hashSecret(token);
    const now = this.clock.now();
    const row = {
      id_hash: idHash,
      user_id: input.userId,
      amr: JSON.stringify(input.amr),
      phishing_resistant_at: input.phishingResistant ? now : null,
      ip: input.ip.slice(0, 64),
      user_agent: input.userAgent.slice(0, 300),
      created_at: now,
      last_seen_at: now,
      expires_at: now + this.timeouts.absoluteMs,
      revoked_at: null,
      revoked_reason: null,
      credential_id: input.credentialId ?? null,
    };
    await db.insertInto('sessions').values(row).execute();
    if (!owner) {
      const session = await this.load(idHash, db);
      if (!session) throw new Error('session vanished right after insert');
      return { token, session };
    }
    const session: SessionView = {
      idHash,
      userId: input.userId,
      email: owner.email,
      name: owner.name,
      groups: await this.groupsOf(input.userId, db),
      amr: [...input.amr],
      phishingResistantAt: row.phishing_resistant_at ?? undefined,
      ip: row.ip,
      userAgent: row.user_agent,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: row.expires_at,
    };
    this.cache.set(session, now);
    return { token, session };
  }

  private async groupsOf(userId: string, db: Kysely<Database>): Promise<string[]> {
    const rows = await db.selectFrom('group_members').select('group_name').where('user_id', '=', userId).execute();
    return rows.map((g) => g.group_name).sort();
  }

  /**
   * The session for a cookie value, or undefined when it is unknown, revoked, expired or its user is
   * disabled. Reads the cache; a miss reads the database once.
   */
  async validate(token: string | undefined): Promise<SessionView | undefined> {
    if (!token || token.length > 100) return undefined;
    return this.validateHash(hashSecret(token));
  }

  /**
   * `touch: false` checks without counting as use: the command line's credential rides on a browser
   * session but must not keep it alive (a credential copied off a laptop would otherwise hold the
   * browser session, which opens every web app, open for its whole lifetime).
   */
  async validateHash(idHash: string, options: { touch?: boolean } = {}): Promise<SessionView | undefined> {
    const now = this.clock.now();
    let session: SessionView | undefined = this.cache.get(idHash, now) ?? (await this.load(idHash));
    if (!session) return undefined;
    if (now >= session.expiresAt || session.createdAt <= this.revokedBefore) return this.forget(idHash);
    if (now - session.lastSeenAt >= this.timeouts.idleMs) {
      // Another instance may have seen it more recently: confirm with the database.
      session = await this.load(idHash);
      if (!session || now - session.lastSeenAt >= this.timeouts.idleMs) return this.forget(idHash);
    }
    if (options.touch !== false && now - session.lastSeenAt >= 1000) {
      session.lastSeenAt = now;
      this.dirtyTouches.set(idHash, now);
    }
    return session;
  }

  private forget(idHash: string): undefined {
    this.cache.delete(idHash);
    return undefined;
  }

  private async load(idHash: string, db: Kysely<Database> = this.store.db): Promise<SessionView | undefined> {
    const row = await db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id_hash',
        'sessions.user_id',
        'sessions.amr',
        'sessions.phishing_resistant_at',
        'sessions.ip',
        'sessions.user_agent',
        'sessions.created_at',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'sessions.revoked_at',
        'users.email',
        'users.name',
        'users.status',
      ])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || row.status !== 'active') {
      this.cache.delete(idHash);
      return undefined;
    }
    const view: SessionView = {
      idHash,
      userId: row.user_id,
      email: row.email,
      name: row.name,
      groups: await this.groupsOf(row.user_id, db),
      amr: JSON.parse(row.amr) as Amr[],
      phishingResistantAt: row.phishing_resistant_at === null ? undefined : Number(row.phishing_resistant_at),
      ip: row.ip,
      userAgent: row.user_agent,
      createdAt: Number(row.created_at),
      lastSeenAt: Math.max(Number(row.last_seen_at), this.dirtyTouches.get(idHash) ?? 0),
      expiresAt: Number(row.expires_at),
    };
    this.cache.set(view, this.clock.now());
    return view;
  }

  /** Writes pending last-seen times (called on a timer and at shutdown). */
  async flushTouches(): Promise<void> {
    if (this.dirtyTouches.size === 0) return;
    const touches = [...this.dirtyTouches];
    this.dirtyTouches.clear();
    for (const [idHash, at] of touches) {
      await this.store.db.updateTable('sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).where('last_seen_at', '<', at).execute();
    }
  }

  startTouchFlusher(): () => Promise<void> {
    const timer = setInterval(() => void this.flushTouches().catch(() => {}), TOUCH_EVERY_MS);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await this.flushTouches().catch(() => {});
    };
  }

  /** Records a fresh phishing-resistant proof on an existing session (step-up). */
  async recordStepUp(idHash: string, amr: Amr[], db: Kysely<Database> = this.store.db): Promise<void> {
    await this.commitAndApply(
      db,
      (trx) => trx.updateTable('sessions').set({ phishing_resistant_at: this.clock.now(), amr: JSON.stringify(amr) }).where('id_hash', '=', idHash).execute(),
      () => ({ kind: SESSION_FEED.updated, payload: { idHashes: [idHash] } }),
    );
  }

  /*
   * Revocation: every way Gatehouse ends sessions is one of the methods below. Each takes the caller's
   * transaction when it has one (an incident step commits its audit event with the revocation), else
   * commits on its own; the row update and its feed row always commit together.
   */

  /** Ends these sessions, named by id hash. */
  async revoke(idHashes: string[], reason: string, db: Kysely<Database> = this.store.db): Promise<number> {
    if (idHashes.length === 0) return 0;
    return this.commitAndApply(
      db,
      async (trx) => {
        const result = await trx
          .updateTable('sessions')
          .set({ revoked_at: this.clock.now(), revoked_reason: reason })
          .where('id_hash', 'in', idHashes)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        return Number(result.numUpdatedRows);
      },
      () => ({ kind: SESSION_FEED.revoked, payload: { idHashes } }),
    );
  }

  /** Ends the live sessions a key created (the key was removed: what it opened closes with it). */
  async revokeByCredential(credentialId: string, reason: string, db: Kysely<Database> = this.store.db): Promise<number> {
    const rows = await db.selectFrom('sessions').select('id_hash').where('credential_id', '=', credentialId).where('revoked_at', 'is', null).execute();
    return this.revoke(
      rows.map((r) => r.id_hash),
      reason,
      db,
    );
  }

  /** Ends every live session of one user; the feed row names the user, so no cached session of theirs survives. */
  async revokeUser(userId: string, reason: string, db: Kysely<Database> = this.store.db): Promise<number> {
    return this.commitAndApply(
      db,
      async (trx) => {
        const result = await trx
          .updateTable('sessions')
          .set({ revoked_at: this.clock.now(), revoked_reason: reason })
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        return Number(result.numUpdatedRows);
      },
      () => ({ kind: SESSION_FEED.revokedUser, payload: { userId } }),
    );
  }

  /**
   * Ends the live sessions of many users at once (incident containment): one UPDATE and one feed row
   * naming the sessions it ended, where revokeUser would write a feed row per user. `createdSince` (ms,
   * inclusive) spares older sessions, for a caller that knows a concurrent revokeAll is ending those:
   * this statement then never waits on that bulk UPDATE's row locks.
   */
  async revokeUsers(userIds: readonly string[], reason: string, db: Kysely<Database> = this.store.db, options: RevokeUsersOptions = {}): Promise<number> {
    if (userIds.length === 0) return 0;
    const idHashes = await this.commitAndApply(
      db,
      async (trx) => {
        let query = trx
          .updateTable('sessions')
          .set({ revoked_at: this.clock.now(), revoked_reason: reason })
          .where('user_id', 'in', userIds)
          .where('revoked_at', 'is', null);
        if (options.createdSince !== undefined) query = query.where('created_at', '>=', options.createdSince);
        return (await query.returning('id_hash').execute()).map((r) => r.id_hash);
      },
      (revoked) => (revoked.length > 0 ? { kind: SESSION_FEED.revoked, payload: { idHashes: revoked } } : undefined),
    );
    return idHashes.length;
  }

  /**
   * Ends every session. The cut-off time is committed first, with its feed row, in a tiny transaction:
   * every instance refuses older sessions as soon as the row arrives, instead of after the bulk update
   * of every session row (over a second for 50,000 sessions on PostgreSQL), which follows.
   */
  async revokeAll(reason: string, db: Kysely<Database> = this.store.db): Promise<number> {
    const cutoff = this.clock.now();
    await this.commitAndApply(
      db,
      (trx) =>
        trx
          .insertInto('settings')
          .values({ key: REVOKED_BEFORE_KEY, value: String(cutoff) })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(cutoff) }))
          .execute(),
      () => ({ kind: SESSION_FEED.revokedAll, payload: { before: cutoff } }),
    );
    const result = await db
      .updateTable('sessions')
      .set({ revoked_at: cutoff, revoked_reason: reason })
      .where('revoked_at', 'is', null)
      .where('created_at', '<=', cutoff)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Reads the last revoke-everything cut-off (at start: sessions created at or before it are refused). */
  async loadRevocationCutoff(): Promise<void> {
    const row = await this.store.db.selectFrom('settings').select('value').where('key', '=', REVOKED_BEFORE_KEY).executeTakeFirst();
    if (row) this.revokedBefore = Math.max(this.revokedBefore, Number(row.value));
  }

  async listForUser(userId: string, options: { includeEnded?: boolean } = {}): Promise<SessionRow[]> {
    let query = this.store.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc');
    if (!options.includeEnded) query = query.where('revoked_at', 'is', null).where('expires_at', '>', this.clock.now());
    return (await query.execute()).map(toSessionRow);
  }

  async listActive(limit = 1000): Promise<SessionRow[]> {
    const rows = await this.store.db
      .selectFrom('sessions')
      .selectAll()
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.clock.now())
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toSessionRow);
  }

  async countActive(): Promise<number> {
    const row = await this.store.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.clock.now())
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  private evictUser(userId: string): void {
    this.cache.deleteUser(userId);
  }

  /**
   * Commits a session change with its feed row (joining `db` when it is a transaction), then applies the
   * row here at once: this instance must not serve a revoked session until its own tail reads the row.
   */
  private async commitAndApply<T>(db: Kysely<Database>, write: (trx: Kysely<Database>) => Promise<T>, feedOf: (written: T) => FeedRow | undefined): Promise<T> {
    const written = await commitChange(this.store, { db, clock: this.clock, write, feed: feedOf });
    const feed = feedOf(written);
    if (feed) this.applyChange({ id: 0, at: this.clock.now(), ...feed });
    return written;
  }

  /** Applies a change-feed row from any instance (including this one). */
  applyChange(change: Change): void {
    switch (change.kind) {
      case SESSION_FEED.revoked:
      case SESSION_FEED.updated:
        for (const idHash of (change.payload.idHashes as string[] | undefined) ?? []) this.cache.delete(idHash);
        break;
      case SESSION_FEED.revokedUser:
      case SESSION_FEED.userChanged:
        this.evictUser(String(change.payload.userId));
        break;
      case SESSION_FEED.revokedAll:
        if (typeof change.payload.before === 'number') this.revokedBefore = Math.max(this.revokedBefore, change.payload.before);
        this.cache.clear();
        break;
      default:
    }
  }
}
