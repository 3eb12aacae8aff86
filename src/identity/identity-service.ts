import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { SecretSealer } from '../secrets/index.js';
import type { Kysely } from 'kysely';
import { commitChange, type Database, type Store } from '../store/index.js';
import { ChallengeStore } from './challenges.js';
import { CredentialRegistry } from './credential-registry.js';
import { activateKey, finishRegistration, startAddKey, startEnrollment, type KeyActivationFinish, type RegistrationFinish } from './enrollment.js';
import type { IdentityContext, IdentitySettings, RequestContext } from './identity-context.js';
import { InviteBook } from './invites.js';
import { adminGuardDetail, withLastAdminGuard, type AdminGuard } from './last-admin-guard.js';
import { LegacyFactors, type PasswordHashing } from './legacy-factors.js';
import { PendingCredentials } from './pending-credentials.js';
import { pruneSignInThrottle } from './sign-in-throttle.js';
import { requireRecentKeyProof } from './recent-key-proof.js';
import type { SessionCacheOptions } from './session-cache.js';
import { SESSION_FEED, SessionManager, type SessionTimeouts, type SessionView } from './sessions.js';
import { finishSignIn, legacySignIn, startSignIn } from './sign-in.js';
import { checkGroupName, createUserDirectory, type User } from './user-directory.js';

export interface IdentityServiceOptions {
  /** argon2id cost for legacy passwords; default OWASP's (tests pass a cheaper one). */
  passwordHashing?: PasswordHashing;
  store: Store;
  clock: Clock;
  random: Random;
  audit: AuditLog;
  /** Seals TOTP secrets at rest under the key-encryption key. */
  sealer: SecretSealer;
  /** The per-deployment HMAC key (decoy credential ids, sign-in throttle); throws when there is none. */
  serverSecret: () => Buffer;
  settings: () => IdentitySettings;
  timeouts: SessionTimeouts;
  sessionCache?: SessionCacheOptions;
}

/**
 * The one service layer for identity: the portal, the admin API and the CLI all call these methods,
 * so every path writes the same audit events and change-feed rows.
 */
export class IdentityService {
  readonly ctx: IdentityContext;

  constructor(options: IdentityServiceOptions) {
    const { store, clock, random, audit } = options;
    const db = store.db;
    this.ctx = {
      store,
      clock,
      random,
      audit,
      serverSecret: options.serverSecret,
      settings: options.settings,
      users: createUserDirectory({ db, clock, random }),
      invites: new InviteBook(db, clock, random),
      credentials: new CredentialRegistry(db, clock),
      pending: new PendingCredentials(db, clock, random),
      sessions: new SessionManager(store, clock, random, options.timeouts, options.sessionCache),
      legacy: new LegacyFactors(db, clock, options.sealer, options.passwordHashing),
      challenges: new ChallengeStore(db, clock, random),
    };
  }

  get users() {
    return this.ctx.users;
  }
  get sessions() {
    return this.ctx.sessions;
  }
  get credentials() {
    return this.ctx.credentials;
  }
  get legacy() {
    return this.ctx.legacy;
  }

  /**
   * Creates the user if needed and returns a one-time enrollment link. A link for someone who already
   * has keys adds a key to a working account: whoever holds the link first can enroll their own key,
   * so it needs `allowExistingKeys` (the CLI's --user-has-keys) and says so in `existingKeys`.
   */
  async invite(input: { email: string; name?: string; groups?: string[]; actor: string; allowExistingKeys?: boolean }): Promise<{ user: User; url: string; expiresAt: number; existingKeys: number }> {
    const existing = await this.ctx.users.findByEmail(input.email);
    const existingKeys = existing ? await this.ctx.credentials.countForUser(existing.id) : 0;
    if (existingKeys > 0 && !input.allowExistingKeys) {
      throw new GatehouseError('invite_user_has_keys', {
        status: 409,
        publicMessage: `${existing!.email} already has ${existingKeys} key(s); an enrollment link would let whoever opens it add another. Pass the explicit flag if that is intended.`,
      });
    }
    let user: User;
    if (existing) {
      user = existing;
      // An existing user may hold live sessions: the group change goes through the feed like any other.
      if (input.groups?.length) await this.addUserToGroups(existing.id, input.groups, input.actor);
    } else {
      user = await this.ctx.users.add({ email: input.email, name: input.name, groups: input.groups });
      // Group changes are audited: the new-admins hunt and the admin-group alert read them (2023 lesson).
      if (user.groups.length > 0) await this.ctx.audit.record({ type: 'user.group_added', outcome: 'success', userId: user.id, actor: input.actor, detail: { groups: user.groups } });
    }
    const { token, invite } = await this.ctx.invites.create(user.id, this.ctx.settings().inviteTtlMs, input.actor);
    await this.ctx.audit.record({
      type: 'invite.created',
      outcome: 'success',
      userId: user.id,
      actor: input.actor,
      detail: { invite: invite.id, expiresAt: invite.expiresAt, existingKeys },
    });
    const url = new URL('/enroll', this.ctx.settings().portalUrl);
    url.searchParams.set('token', token);
    return { user: (await this.ctx.users.get(user.id)) ?? user, url: url.toString(), expiresAt: invite.expiresAt, existingKeys };
  }

  /** Creates a user; group memberships are audited like every other group change. */
  async addUser(input: { email: string; name?: string; groups?: string[]; actor: string }): Promise<User> {
    const user = await this.ctx.users.add({ email: input.email, name: input.name, groups: input.groups });
    await this.ctx.audit.record({ type: 'user.created', outcome: 'success', userId: user.id, actor: input.actor, detail: { groups: user.groups } });
    if (user.groups.length > 0) await this.ctx.audit.record({ type: 'user.group_added', outcome: 'success', userId: user.id, actor: input.actor, detail: { groups: user.groups } });
    return user;
  }

  /**
   * Adds a user to groups. Groups decide what policies allow, so the feed row commits with the
   * membership: every instance drops the user's cached sessions and their next request carries the new
   * groups (the proxy's identity JWT cache compares groups and re-signs). Audited as user.group_added:
   * the admin-group alert takes its actor from that event. Groups already held are left alone.
   */
  async addUserToGroups(userId: string, groups: string[], actor: string): Promise<{ user: User; added: string[] }> {
    const wanted = [...new Set(groups.map(checkGroupName))].sort();
    return this.changeGroups(userId, actor, (user) => wanted.filter((g) => !user.groups.includes(g)), 'user.group_added', (added, trx) => this.ctx.users.addToGroups(userId, added, trx));
  }

  /**
   * Removes a user from groups; the narrowing reaches every instance's cache in the same way. With
   * `guard`, a removal that would leave no usable administrator is refused (`last_admin`, see
   * withLastAdminGuard) and nothing changes; `{ allowNoAdmin: true }` lets it through and says so in the event.
   */
  async removeUserFromGroups(userId: string, groups: string[], actor: string, guard?: AdminGuard): Promise<{ user: User; removed: string[] }> {
    const unwanted = [...new Set(groups.map(checkGroupName))].sort();
    const { user, added } = await this.changeGroups(
      userId,
      actor,
      (current) => unwanted.filter((g) => current.groups.includes(g)),
      'user.group_removed',
      (removed, trx) =>
        this.guarded(trx, userId, guard, async () => {
          for (const group of removed) await this.ctx.users.removeFromGroup(userId, group, trx);
        }),
      adminGuardDetail(guard),
    );
    return { user, removed: added };
  }

  private async changeGroups(
    userId: string,
    actor: string,
    changing: (user: User) => string[],
    type: 'user.group_added' | 'user.group_removed',
    write: (groups: string[], trx: Kysely<Database>) => Promise<void>,
    extraDetail: Record<string, unknown> = {},
  ): Promise<{ user: User; added: string[] }> {
    const before = await this.ctx.users.require(userId);
    const groups = changing(before);
    if (groups.length === 0) return { user: before, added: [] };
    await commitChange(this.ctx.store, {
      clock: this.ctx.clock,
      write: (trx) => write(groups, trx),
      feed: { kind: SESSION_FEED.userChanged, payload: { userId } },
      audit: this.ctx.audit,
      event: { type, outcome: 'success', userId, actor, detail: { groups, ...extraDetail } },
    });
    this.ctx.sessions.applyChange({ id: 0, at: this.ctx.clock.now(), kind: SESSION_FEED.userChanged, payload: { userId } });
    return { user: (await this.ctx.users.get(userId)) ?? before, added: groups };
  }

  startEnrollment(token: string, request: RequestContext) {
    return startEnrollment(this.ctx, token, request);
  }
  startAddKey(session: SessionView, request: RequestContext) {
    return startAddKey(this.ctx, session, request);
  }
  finishRegistration(input: RegistrationFinish, request: RequestContext) {
    return finishRegistration(this.ctx, input, request);
  }
  activateKey(input: KeyActivationFinish, request: RequestContext) {
    return activateKey(this.ctx, input, request);
  }
  startSignIn(input: { email?: string | undefined; stepUpFor?: SessionView }) {
    return startSignIn(this.ctx, input);
  }
  finishSignIn(input: { challengeId: unknown; response: unknown; stepUpFor?: SessionView }, request: RequestContext) {
    return finishSignIn(this.ctx, input, request);
  }
  legacySignIn(input: { email: unknown; password: unknown; code: unknown }, request: RequestContext) {
    return legacySignIn(this.ctx, input, request);
  }

  /** Renames a key: by its owner with a fresh key proof (`session`), or by an admin (no session). */
  async renameKey(userId: string, credentialId: string, name: string, actor: string, session?: SessionView): Promise<void> {
    if (session) {
      if (session.userId !== userId) throw new GatehouseError('key_not_found', { status: 404, publicMessage: 'security key was not found.' });
      requireRecentKeyProof(session, this.ctx.clock.now(), this.ctx.settings().keyChangeWindowMs, 'renaming a key');
    }
    await this.ctx.credentials.rename(userId, credentialId, name);
    await this.ctx.audit.record({ type: 'key.renamed', outcome: 'success', userId, actor, detail: { credential: credentialId, name } });
  }

  /**
   * Removes a key and, in the same transaction, revokes every session its assertions created, on every
   * instance (a stolen session that a removed key opened must not outlive it). A user removes their own
   * key only with a fresh key proof (`session`); an admin (`byAdmin`, the CLI) needs none.
   */
  async removeKey(userId: string, credentialId: string, options: { byAdmin: boolean; actor: string; ip?: string; session?: SessionView; guard?: AdminGuard }): Promise<{ sessionsRevoked: number }> {
    try {
      if (!options.byAdmin) {
        if (!options.session || options.session.userId !== userId) throw new GatehouseError('key_proof_required', { status: 403, publicMessage: 'Sign in with your security key or passkey to do this.', detail: 'key removal without the owner’s session' });
        requireRecentKeyProof(options.session, this.ctx.clock.now(), this.ctx.settings().keyChangeWindowMs, 'removing a key');
      }
      return await this.ctx.store.db.transaction().execute(async (trx) => {
        const removed = await this.guarded(trx, userId, options.guard, () => this.ctx.credentials.remove(userId, credentialId, { byAdmin: options.byAdmin }, trx));
        const sessionsRevoked = await this.ctx.sessions.revokeByCredential(credentialId, 'key removed', trx);
        await this.ctx.audit.record(
          {
            type: 'key.removed',
            outcome: 'success',
            userId,
            actor: options.actor,
            ip: options.ip,
            detail: { credential: credentialId, name: removed.name, model: removed.model ?? null, byAdmin: options.byAdmin, sessionsRevoked, ...adminGuardDetail(options.guard) },
          },
          trx,
        );
        return { sessionsRevoked };
      });
    } catch (error) {
      await this.ctx.audit
        .record({ type: 'key.removed', outcome: 'failure', code: (error as GatehouseError).code, userId, actor: options.actor, ip: options.ip, detail: { credential: credentialId } })
        .catch(() => {});
      throw error;
    }
  }

  /** Housekeeping: drops expired challenges, unconfirmed keys and ended sign-in throttle windows. */
  async pruneExpired(): Promise<void> {
    await this.ctx.challenges.pruneExpired();
    await this.ctx.pending.pruneExpired();
    await pruneSignInThrottle({ db: this.ctx.store.db, clock: this.ctx.clock }, this.ctx.settings().legacy.lockoutMs);
  }

  async revokeSession(idHash: string, input: { actor: string; reason: string; userId?: string }): Promise<number> {
    if (input.userId) {
      const owned = await this.ctx.store.db.selectFrom('sessions').select('id_hash').where('id_hash', '=', idHash).where('user_id', '=', input.userId).executeTakeFirst();
      if (!owned) throw new GatehouseError('session_not_found', { status: 404, publicMessage: 'That session was not found.', detail: 'not the user’s session' });
    }
    const count = await this.ctx.sessions.revoke([idHash], input.reason);
    await this.ctx.audit.record({ type: 'session.revoked', outcome: 'success', userId: input.userId, actor: input.actor, detail: { sessions: count, reason: input.reason, handle: idHash.slice(0, 16) } });
    return count;
  }

  /** Revokes by the short handle shown in lists (a 16-hex-digit prefix of the hash). */
  async revokeSessionByHandle(handle: string, input: { actor: string; reason: string }): Promise<number> {
    if (!/^[0-9a-f]{16,64}$/.test(handle)) throw new GatehouseError('invalid_input', { status: 400, publicMessage: `"${handle}" is not a session handle` });
    const rows = await this.ctx.store.db.selectFrom('sessions').select('id_hash').where('id_hash', 'like', `${handle}%`).execute();
    if (rows.length !== 1) throw new GatehouseError('session_not_found', { status: 404, publicMessage: rows.length ? 'ambiguous session handle' : 'no such session' });
    return this.revokeSession(rows[0]!.id_hash, input);
  }

  // The revocation and its audit event commit together: the log never misses a revocation that happened.
  async revokeUserSessions(userId: string, input: { actor: string; reason: string }): Promise<number> {
    return this.ctx.store.db.transaction().execute(async (trx) => {
      const count = await this.ctx.sessions.revokeUser(userId, input.reason, trx);
      await this.ctx.audit.record({ type: 'session.revoked', outcome: 'success', userId, actor: input.actor, detail: { sessions: count, reason: input.reason, scope: 'user' } }, trx);
      return count;
    });
  }

  // Not in one transaction: revokeAll commits its cut-off first, on its own, so every instance refuses
  // old sessions before the bulk update of every row ends; the event follows both.
  async revokeAllSessions(input: { actor: string; reason: string }): Promise<number> {
    const count = await this.ctx.sessions.revokeAll(input.reason);
    await this.ctx.audit.record({ type: 'session.revoked', outcome: 'success', actor: input.actor, detail: { sessions: count, reason: input.reason, scope: 'all' } });
    return count;
  }

  /** Enables or disables a user; with `guard`, disabling the last usable administrator is refused (`last_admin`). */
  async setUserStatus(userId: string, status: 'active' | 'disabled', actor: string, guard?: AdminGuard): Promise<void> {
    await commitChange(this.ctx.store, {
      clock: this.ctx.clock,
      write: (trx) => this.guarded(trx, userId, guard, () => this.ctx.users.setStatus(userId, status, trx)),
      feed: { kind: SESSION_FEED.userChanged, payload: { userId } },
      audit: this.ctx.audit,
      event: { type: status === 'disabled' ? 'user.disabled' : 'user.enabled', outcome: 'success', userId, actor, ...(guard && 'allowNoAdmin' in guard ? { detail: adminGuardDetail(guard) } : {}) },
    });
    this.ctx.sessions.applyChange({ id: 0, at: this.ctx.clock.now(), kind: SESSION_FEED.userChanged, payload: { userId } });
  }

  private guarded<T>(trx: Kysely<Database>, userId: string, guard: AdminGuard | undefined, change: () => Promise<T>): Promise<T> {
    return guard && 'adminGroups' in guard ? withLastAdminGuard(trx, this.ctx.store.dialect, guard, userId, change) : change();
  }
}
