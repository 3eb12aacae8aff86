import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LAST_ADMIN_CODE, normaliseEmail, type SessionView, type User } from '../identity/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import { formField, registerConsoleAction } from './console-action.js';
import type { ConsoleContext } from './console-context.js';

/** Stable codes of the console's own refusals on the users page (each has a negative test). */
export const USER_ACTION_ERRORS = {
  /** An admin disabling their own account: they would lose the console with no one told. */
  selfDisable: 'console_self_disable',
  /** An admin removing their own last key: no key, no console (password sessions are refused). */
  ownLastKey: 'console_own_last_key',
  /** The action would leave no active administrator with a key: nobody could undo it from here. */
  lastAdmin: 'console_last_admin',
  /** A privilege change whose typed confirmation does not match. */
  confirmationMismatch: 'confirmation_mismatch',
} as const;

const MAX_GROUPS = 20;

function actorOf(session: SessionView): string {
  return `admin:${session.userId}`;
}

/** Group names from a text field, separated by commas or spaces (each checked by the identity capability). */
function groupsField(request: FastifyRequest, optional: boolean): string[] {
  const groups = [...new Set(formField(request, 'groups', { optional, max: 500 }).split(/[\s,]+/).filter(Boolean))];
  if (groups.length > MAX_GROUPS) throw new GatehouseError('invalid_input', { status: 400, publicMessage: `At most ${MAX_GROUPS} groups at once.` });
  if (!optional && groups.length === 0) throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'Name at least one group.' });
  return groups;
}

/**
 * Granting an admin group is the change the 2023 intruders made first, and new admins are what the
 * hunt looks for: the admin types the person's email, so a misclick or a forged-looking form that
 * slipped past CSRF cannot do it, and the audit event names the admin groups granted.
 */
function requireTypedEmail(request: FastifyRequest, email: string, why = 'Adding to an admin group grants the console'): void {
  const typed = formField(request, 'confirm_email', { optional: true, max: 254 }).trim().toLowerCase();
  if (typed !== email) {
    throw new GatehouseError(USER_ACTION_ERRORS.confirmationMismatch, { status: 400, publicMessage: `${why}: type ${email} to confirm.` });
  }
}

/**
 * Registers the users page's actions. Each goes through the identity capability (audit events and
 * change-feed rows as from the CLI) and the console's own audit event. Refusals of the lock-out guards
 * are audited too: an attempt to strip the last administrator is worth reading about.
 */
export function registerUserActions(scope: FastifyInstance, ctx: ConsoleContext): void {
  const { identity } = ctx.deps;
  const adminGroups = () => ctx.deps.settings().adminGroups;

  const targetOf = async (request: FastifyRequest): Promise<User> => identity.users.require(formField(request, 'user_id', { max: 64 }));
  const userPage = (user: User) => `/admin/users/${encodeURIComponent(user.id)}`;

  /** Refuses with a code, after writing the refusal to the audit log under the admin's identity. */
  const refuse = async (request: FastifyRequest, session: SessionView, action: string, code: string, message: string, target: User): Promise<never> => {
    await ctx.deps.audit.record({
      type: 'admin.console_action',
      outcome: 'failure',
      code,
      userId: session.userId,
      actor: actorOf(session),
      ip: ctx.deps.clientIp(request),
      detail: { action, target: target.id, email: target.email },
    });
    throw new GatehouseError(code, { status: 409, publicMessage: message });
  };

  // The guard is the identity capability's (withLastAdminGuard): the re-count and the change in one
  // transaction behind one lock, so two removals at once, on one instance or two, cannot both pass.
  const guard = () => ({ adminGroups: adminGroups() });

  /** Runs a guarded change; its `last_admin` refusal becomes the console's, audited under the admin's identity. */
  const keepingAnAdmin = async <T>(request: FastifyRequest, session: SessionView, action: string, target: User, change: () => Promise<T>): Promise<T> => {
    try {
      return await change();
    } catch (error) {
      if (!isGatehouseError(error) || error.code !== LAST_ADMIN_CODE) throw error;
      return refuse(request, session, action, USER_ACTION_ERRORS.lastAdmin, `${target.email} is the last administrator who can sign in with a key: add another administrator first.`, target);
    }
  };

  registerConsoleAction(scope, ctx, 'users', '/users/invite', 'user.invite', async (request, session) => {
    const email = normaliseEmail(formField(request, 'email', { max: 254 }));
    const name = formField(request, 'name', { optional: true, max: 200 }).trim();
    const groups = groupsField(request, true);
    const allowExistingKeys = formField(request, 'user_has_keys', { optional: true, max: 3 }) === 'yes';
    const granted = groups.filter((g) => adminGroups().includes(g));
    if (granted.length > 0) requireTypedEmail(request, email);
    // A new link for an administrator who has keys lets whoever opens it first add a key to an admin
    // account: the same weight as granting the group, so the same typed confirmation.
    const existing = allowExistingKeys ? await identity.users.findByEmail(email) : undefined;
    if (existing && granted.length === 0 && existing.groups.some((g) => adminGroups().includes(g))) {
      requireTypedEmail(request, email, 'A new link adds a key to an administrator account');
    }
    let invite: Awaited<ReturnType<typeof identity.invite>>;
    try {
      invite = await identity.invite({ email, ...(name ? { name } : {}), groups, actor: actorOf(session), allowExistingKeys });
    } catch (error) {
      // The same refusal as `gatehouse user invite`, in the console's words (a box to tick, not a flag).
      if (isGatehouseError(error) && error.code === 'invite_user_has_keys') {
        throw new GatehouseError(error.code, {
          status: 409,
          publicMessage: `${email} already has keys: a new link lets whoever opens it first add another. Tick "The user already has keys" if that is intended.`,
        });
      }
      throw error;
    }
    const expires = new Date(invite.expiresAt).toISOString().replace('T', ' ').slice(0, 16);
    return {
      message: `Enrollment link for ${invite.user.email} (single use, expires ${expires} UTC).${invite.existingKeys > 0 ? ` This account already has ${invite.existingKeys} key(s): send the link only over a channel you trust, and check its keys afterwards.` : ''}`,
      redirect: userPage(invite.user),
      // The link is a bearer credential for adding a key: shown once here, never in the audit detail.
      secret: { label: 'The enrollment link, shown only now:', value: invite.url },
      audit: { target: invite.user.id, email: invite.user.email, groups, adminGroupsGranted: granted, existingKeys: invite.existingKeys },
    };
  });

  registerConsoleAction(scope, ctx, 'users', '/users/disable', 'user.disable', async (request, session) => {
    const target = await targetOf(request);
    if (target.id === session.userId) await refuse(request, session, 'user.disable', USER_ACTION_ERRORS.selfDisable, 'You cannot disable your own account from the console.', target);
    // As `gatehouse user disable`: the status change reaches every instance's cache through the feed,
    // and the sessions are revoked too, so enabling the account later does not bring a stolen one back.
    await keepingAnAdmin(request, session, 'user.disable', target, () => identity.setUserStatus(target.id, 'disabled', actorOf(session), guard()));
    const sessions = await identity.revokeUserSessions(target.id, { actor: actorOf(session), reason: 'user disabled from the admin console' });
    return { message: `${target.email} is disabled; ${sessions} session(s) revoked on every instance.`, redirect: userPage(target), audit: { target: target.id, email: target.email, sessions } };
  });

  registerConsoleAction(scope, ctx, 'users', '/users/enable', 'user.enable', async (request, session) => {
    const target = await targetOf(request);
    await identity.setUserStatus(target.id, 'active', actorOf(session));
    return { message: `${target.email} is enabled.`, redirect: userPage(target), audit: { target: target.id, email: target.email } };
  });

  registerConsoleAction(scope, ctx, 'users', '/users/groups/add', 'user.groups_add', async (request, session) => {
    const target = await targetOf(request);
    const groups = groupsField(request, false);
    const granted = groups.filter((g) => adminGroups().includes(g) && !target.groups.includes(g));
    if (granted.length > 0) requireTypedEmail(request, target.email);
    const { added } = await identity.addUserToGroups(target.id, groups, actorOf(session));
    return {
      message: added.length ? `${target.email} added to ${added.join(', ')}.` : `${target.email} was already in ${groups.join(', ')}.`,
      redirect: userPage(target),
      audit: { target: target.id, email: target.email, groups: added, adminGroupsGranted: granted },
    };
  });

  registerConsoleAction(scope, ctx, 'users', '/users/groups/remove', 'user.groups_remove', async (request, session) => {
    const target = await targetOf(request);
    const group = formField(request, 'group', { max: 64 });
    const { removed } = await keepingAnAdmin(request, session, 'user.groups_remove', target, () => identity.removeUserFromGroups(target.id, [group], actorOf(session), guard()));
    return {
      message: removed.length ? `${target.email} removed from ${group}.` : `${target.email} was not in ${group}.`,
      redirect: userPage(target),
      audit: { target: target.id, email: target.email, groups: removed, adminGroupRemoved: removed.some((g) => adminGroups().includes(g)) },
    };
  });

  registerConsoleAction(scope, ctx, 'users', '/users/keys/remove', 'user.key_remove', async (request, session) => {
    const target = await targetOf(request);
    const credentialId = formField(request, 'credential_id', { max: 1400 });
    const keys = await identity.credentials.countForUser(target.id);
    if (keys <= 1 && target.id === session.userId) await refuse(request, session, 'user.key_remove', USER_ACTION_ERRORS.ownLastKey, 'This is your only key: add another before removing it.', target);
    const { sessionsRevoked } = await keepingAnAdmin(request, session, 'user.key_remove', target, () =>
      identity.removeKey(target.id, credentialId, { byAdmin: true, actor: actorOf(session), ip: ctx.deps.clientIp(request), guard: guard() }),
    );
    return {
      message: `Key removed from ${target.email}; ${sessionsRevoked} session(s) it opened revoked.${keys <= 1 ? ' The user has no key left: send a new enrollment link.' : ''}`,
      redirect: userPage(target),
      audit: { target: target.id, email: target.email, credential: credentialId, sessions: sessionsRevoked },
    };
  });

  registerConsoleAction(scope, ctx, 'users', '/users/sessions/revoke', 'user.session_revoke', async (request, session) => {
    const target = await targetOf(request);
    const handle = formField(request, 'handle', { max: 64 });
    const row = (await identity.sessions.listForUser(target.id)).find((s) => s.handle === handle);
    if (!row) throw new GatehouseError('session_not_found', { status: 404, publicMessage: 'That session has already ended.' });
    const count = await identity.revokeSession(row.idHash, { actor: actorOf(session), reason: 'revoked from the admin console', userId: target.id });
    return { message: 'The session is revoked on every instance.', redirect: userPage(target), audit: { target: target.id, handle, sessions: count } };
  });

  registerConsoleAction(scope, ctx, 'users', '/users/sessions/revoke-all', 'user.sessions_revoke', async (request, session) => {
    const target = await targetOf(request);
    const count = await identity.revokeUserSessions(target.id, { actor: actorOf(session), reason: 'revoked from the admin console' });
    return {
      message: `${count} session${count === 1 ? '' : 's'} of ${target.email} revoked on every instance.`,
      redirect: target.id === session.userId ? '/sign-in' : userPage(target),
      audit: { target: target.id, email: target.email, sessions: count },
    };
  });
}
