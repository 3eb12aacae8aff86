import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import { publishChange, type Store } from '../store/index.js';
import { ChallengeStore } from './challenges.js';
import { CredentialRegistry } from './credential-registry.js';
import { finishRegistration, startAddKey, startEnrollment, type RegistrationFinish } from './enrollment.js';
import type { IdentityContext, IdentitySettings, RequestContext } from './identity-context.js';
import { InviteBook } from './invites.js';
import { LegacyFactors } from './legacy-factors.js';
import { SESSION_FEED, SessionManager, type SessionTimeouts, type SessionView } from './sessions.js';
import { finishSignIn, legacySignIn, startSignIn } from './sign-in.js';
import { createUserDirectory, type User } from './user-directory.js';

export interface IdentityServiceOptions {
  store: Store;
  clock: Clock;
  random: Random;
  audit: AuditLog;
  serverSecret: Buffer;
  settings: () => IdentitySettings;
  timeouts: SessionTimeouts;
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
      sessions: new SessionManager(store, clock, random, options.timeouts),
      legacy: new LegacyFactors(db, clock),
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

  /** Creates the user if needed and returns a one-time enrollment link. */
  async invite(input: { email: string; name?: string; groups?: string[]; actor: string }): Promise<{ user: User; url: string; expiresAt: number }> {
    const existing = await this.ctx.users.findByEmail(input.email);
    const user = existing ?? (await this.ctx.users.add({ email: input.email, name: input.name, groups: input.groups }));
    if (existing && input.groups?.length) await this.ctx.users.addToGroups(existing.id, input.groups);
    const added = existing ? (input.groups ?? []).filter((g) => !existing.groups.includes(g)) : (input.groups ?? []);
    // Group changes are audited: the new-admins hunt and the admin-group alert read them (2023 lesson).
    if (added.length > 0) await this.ctx.audit.record({ type: 'user.group_added', outcome: 'success', userId: user.id, actor: input.actor, detail: { groups: [...new Set(added)].sort() } });
    const { token, invite } = await this.ctx.invites.create(user.id, this.ctx.settings().inviteTtlMs, input.actor);
    await this.ctx.audit.record({
      type: 'invite.created',
      outcome: 'success',
      userId: user.id,
      actor: input.actor,
      detail: { invite: invite.id, expiresAt: invite.expiresAt },
    });
    const url = new URL('/enroll', this.ctx.settings().portalUrl);
    url.searchParams.set('token', token);
    return { user: (await this.ctx.users.get(user.id)) ?? user, url: url.toString(), expiresAt: invite.expiresAt };
  }

  /** Creates a user; group memberships are audited like every other group change. */
  async addUser(input: { email: string; name?: string; groups?: string[]; actor: string }): Promise<User> {
    const user = await this.ctx.users.add({ email: input.email, name: input.name, groups: input.groups });
    await this.ctx.audit.record({ type: 'user.created', outcome: 'success', userId: user.id, actor: input.actor, detail: { groups: user.groups } });
    if (user.groups.length > 0) await this.ctx.audit.record({ type: 'user.group_added', outcome: 'success', userId: user.id, actor: input.actor, detail: { groups: user.groups } });
    return user;
  }

  startEnrollment(token: string, request: RequestContext) {
    return startEnrollment(this.ctx, token, request);
  }
  startAddKey(session: SessionView) {
    return startAddKey(this.ctx, session);
  }
  finishRegistration(input: RegistrationFinish, request: RequestContext) {
    return finishRegistration(this.ctx, input, request);
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

  async renameKey(userId: string, credentialId: string, name: string, actor: string): Promise<void> {
    await this.ctx.credentials.rename(userId, credentialId, name);
    await this.ctx.audit.record({ type: 'key.renamed', outcome: 'success', userId, actor, detail: { credential: credentialId, name } });
  }

  async removeKey(userId: string, credentialId: string, options: { byAdmin: boolean; actor: string; ip?: string }): Promise<void> {
    try {
      const removed = await this.ctx.credentials.remove(userId, credentialId, { byAdmin: options.byAdmin });
      await this.ctx.audit.record({
        type: 'key.removed',
        outcome: 'success',
        userId,
        actor: options.actor,
        ip: options.ip,
        detail: { credential: credentialId, name: removed.name, byAdmin: options.byAdmin },
      });
    } catch (error) {
      await this.ctx.audit
        .record({ type: 'key.removed', outcome: 'failure', code: (error as GatehouseError).code, userId, actor: options.actor, ip: options.ip, detail: { credential: credentialId } })
        .catch(() => {});
      throw error;
    }
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

  async revokeUserSessions(userId: string, input: { actor: string; reason: string }): Promise<number> {
    const count = await this.ctx.sessions.revokeUser(userId, input.reason);
    await this.ctx.audit.record({ type: 'session.revoked', outcome: 'success', userId, actor: input.actor, detail: { sessions: count, reason: input.reason, scope: 'user' } });
    return count;
  }

  async revokeAllSessions(input: { actor: string; reason: string }): Promise<number> {
    const count = await this.ctx.sessions.revokeAll(input.reason);
    await this.ctx.audit.record({ type: 'session.revoked', outcome: 'success', actor: input.actor, detail: { sessions: count, reason: input.reason, scope: 'all' } });
    return count;
  }

  async setUserStatus(userId: string, status: 'active' | 'disabled', actor: string): Promise<void> {
    await this.ctx.store.db.transaction().execute(async (trx) => {
      await this.ctx.users.setStatus(userId, status, trx);
      await publishChange(trx, this.ctx.store, this.ctx.clock, SESSION_FEED.userChanged, { userId });
      await this.ctx.audit.record({ type: status === 'disabled' ? 'user.disabled' : 'user.enabled', outcome: 'success', userId, actor }, trx);
    });
    this.ctx.sessions.applyChange({ id: 0, at: this.ctx.clock.now(), kind: SESSION_FEED.userChanged, payload: { userId } });
  }
}
