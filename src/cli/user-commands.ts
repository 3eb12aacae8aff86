import type { Command } from 'commander';
import type { GatehouseCore } from '../core.js';
import { LAST_ADMIN_CODE, type AdminGuard, type User } from '../identity/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import type { CliContext } from './cli-context.js';
import { emit, isoTime, table } from './output.js';
import { withCore } from './open-config.js';

interface Common {
  config?: string;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface AllowNoAdminOption {
  allowNoAdmin?: boolean;
}

const ALLOW_NO_ADMIN_HELP = 'go ahead even if no active administrator with a key is left (audited with allowNoAdmin)';

/**
 * The CLI is the host's way back in, not a way to lock everyone out by a slip: disable, group removal
 * and key removal keep a usable administrator (active, in `identity.admin_groups`, with a key) through
 * the identity capability's guard (withLastAdminGuard: one transaction behind one lock, so a console
 * removal on a running instance at the same moment cannot slip between the count and the change).
 * `--allow-no-admin` is the operator saying they mean it; the audit event then carries the flag.
 */
function adminGuardOf(core: GatehouseCore, options: AllowNoAdminOption): AdminGuard {
  return options.allowNoAdmin === true ? { allowNoAdmin: true } : { adminGroups: core.snapshot().config.identity.admin_groups };
}

/** Why an administrator other than `target` does not count: so the operator knows whom to fix. */
async function unusableAdmins(core: GatehouseCore, adminGroups: readonly string[], target: User): Promise<string[]> {
  const out: string[] = [];
  for (const user of await core.identity.users.list()) {
    if (user.id === target.id || !user.groups.some((g) => adminGroups.includes(g))) continue;
    const keys = await core.identity.credentials.countForUser(user.id);
    const why = [user.status !== 'active' ? user.status : '', keys === 0 ? 'no key' : ''].filter(Boolean).join(', ');
    out.push(`${user.email} (${why})`);
  }
  return out;
}

/**
 * Runs a guarded change; a `last_admin` refusal names who would be left and the two ways on. The
 * refusal is audited under `refusal` (as the console audits its own): an attempt to strip the last
 * administrator is worth reading about. Key removal audits its own failures, so it passes none.
 */
async function keepingAnAdmin<T>(core: GatehouseCore, target: User, what: string, refusal: { type: 'user.disabled' | 'user.group_removed'; detail?: Record<string, unknown> } | undefined, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    if (!isGatehouseError(error) || error.code !== LAST_ADMIN_CODE) throw error;
    if (refusal) await core.audit.record({ type: refusal.type, outcome: 'failure', code: LAST_ADMIN_CODE, userId: target.id, actor: 'cli', ...(refusal.detail ? { detail: refusal.detail } : {}) });
    const adminGroups = core.snapshot().config.identity.admin_groups;
    const others = await unusableAdmins(core, adminGroups, target);
    throw new GatehouseError(LAST_ADMIN_CODE, {
      status: 409,
      publicMessage:
        `refused to ${what}: ${target.email} is the last administrator who can sign in with a key (active, in ${adminGroups.join(' or ')}, with a key); ` +
        `nobody would be left who can use the console${others.length > 0 ? ` (other members, none usable: ${others.join('; ')})` : ''}. ` +
        `Add another administrator first (\`gatehouse user invite EMAIL --group ${adminGroups[0] ?? 'admins'}\`, then enroll a key), ` +
        'or pass --allow-no-admin if you mean to leave none (nothing changed)',
    });
  }
}

export function registerUserCommands(program: Command, cli: CliContext): void {
  const user = program.command('user').description('Users, enrollment links and their keys');

  user
    .command('add')
    .argument('<email>')
    .option('--name <name>', 'display name')
    .option('--group <group>', 'group membership (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .description('Create a user (without an enrollment link)')
    .action(async (email: string, options: Common & { name?: string; group: string[] }) => {
      const created = await withCore(cli, (core) => core.identity.addUser({ email, name: options.name, groups: options.group, actor: 'cli' }));
      emit(cli, options.json, created, () => `created ${created.email} (${created.id})`);
    });

  user
    .command('invite')
    .argument('<email>')
    .option('--name <name>', 'display name for a new user')
    .option('--group <group>', 'group membership (repeatable)', collect, [])
    .option('--user-has-keys', 'issue a link even though the user already has keys (it lets whoever opens it first add one)')
    .option('--json', 'print JSON')
    .description('Print a one-time enrollment link (creates the user if needed); refused for a user with keys unless --user-has-keys')
    .action(async (email: string, options: Common & { name?: string; group: string[]; userHasKeys?: boolean }) => {
      const invite = await withCore(cli, (core) =>
        core.identity.invite({ email, name: options.name, groups: options.group, actor: 'cli', allowExistingKeys: options.userHasKeys === true }),
      );
      const warning =
        invite.existingKeys > 0
          ? `\nNOTE: ${invite.user.email} already has ${invite.existingKeys} key(s). This link adds another key to a working account: send it only over a channel you trust, and check the user's keys afterwards.`
          : '';
      emit(cli, options.json, { email: invite.user.email, url: invite.url, expiresAt: isoTime(invite.expiresAt), existingKeys: invite.existingKeys }, () =>
        `Enrollment link for ${invite.user.email} (single use, expires ${isoTime(invite.expiresAt)}):\n${invite.url}${warning}`,
      );
    });

  user
    .command('list')
    .option('--group <group>', 'only members of this group')
    .option('--json', 'print JSON')
    .description('List users')
    .action(async (options: Common & { group?: string }) => {
      const users = await withCore(cli, async (core) => {
        const list = await core.identity.users.list(options.group ? { group: options.group } : {});
        return Promise.all(list.map(async (u) => ({ ...u, keys: await core.identity.credentials.countForUser(u.id) })));
      });
      emit(cli, options.json, users, () =>
        table(users.map((u) => ({ email: u.email, name: u.name, status: u.status, groups: u.groups.join(','), keys: u.keys })), ['email', 'name', 'status', 'groups', 'keys']),
      );
    });

  user
    .command('show')
    .argument('<user>', 'email or id')
    .option('--json', 'print JSON')
    .description('Show a user with keys and active sessions')
    .action(async (who: string, options: Common) => {
      const data = await withCore(cli, async (core) => {
        const u = await core.identity.users.require(who);
        const keys = await core.identity.credentials.listForUser(u.id);
        const sessions = await core.identity.sessions.listForUser(u.id);
        const legacy = await core.identity.legacy.has(u.id);
        return {
          ...u,
          legacy,
          keys: keys.map((k) => ({ id: k.id, name: k.name, class: k.authenticatorClass, model: k.model ?? '-', aaguid: k.aaguid, createdAt: isoTime(k.createdAt), lastUsedAt: isoTime(k.lastUsedAt) })),
          sessions: sessions.map((s) => ({ handle: s.handle, amr: s.amr, ip: s.ip, createdAt: isoTime(s.createdAt), lastSeenAt: isoTime(s.lastSeenAt) })),
        };
      });
      emit(cli, options.json, data, () =>
        [
          `${data.email}  ${data.name}  ${data.status}${data.reenrollRequired ? '  (re-enrollment required)' : ''}`,
          `groups: ${data.groups.join(', ') || '-'}   legacy: password=${data.legacy.password} totp=${data.legacy.totp}`,
          '',
          'keys:',
          table(data.keys, ['id', 'name', 'class', 'model', 'lastUsedAt']),
          '',
          'sessions:',
          table(data.sessions, ['handle', 'amr', 'ip', 'lastSeenAt']),
        ].join('\n'),
      );
    });

  for (const [name, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    const command = user
      .command(name)
      .argument('<user>', 'email or id')
      .option('--json', 'print JSON');
    if (name === 'disable') command.option('--allow-no-admin', ALLOW_NO_ADMIN_HELP);
    command
      .description(name === 'disable' ? 'Disable a user: every session ends at once, sign-in is refused; refused for the last usable administrator unless --allow-no-admin' : 'Enable a disabled user')
      .action(async (who: string, options: Common & AllowNoAdminOption) => {
        const result = await withCore(cli, async (core) => {
          const u = await core.identity.users.require(who);
          if (status === 'disabled') await keepingAnAdmin(core, u, `disable ${u.email}`, { type: 'user.disabled' }, () => core.identity.setUserStatus(u.id, status, 'cli', adminGuardOf(core, options)));
          else await core.identity.setUserStatus(u.id, status, 'cli');
          const revoked = status === 'disabled' ? await core.identity.revokeUserSessions(u.id, { actor: 'cli', reason: 'user disabled' }) : 0;
          return { email: u.email, status, sessionsRevoked: revoked };
        });
        emit(cli, options.json, result, () => `${result.email}: ${result.status}${status === 'disabled' ? `, ${result.sessionsRevoked} session(s) revoked` : ''}`);
      });
  }

  const group = user.command('group').description("Change a user's group memberships (every instance sees it at once)");
  for (const [name, verb] of [['add', 'added to'], ['remove', 'removed from']] as const) {
    const command = group
      .command(name)
      .argument('<user>', 'email or id')
      .argument('<groups...>', 'group names')
      .option('--json', 'print JSON');
    if (name === 'remove') command.option('--allow-no-admin', ALLOW_NO_ADMIN_HELP);
    command
      .description(
        name === 'add'
          ? 'Add a user to groups (audited as user.group_added)'
          : 'Remove a user from groups (audited as user.group_removed); refused for the last usable administrator unless --allow-no-admin',
      )
      .action(async (who: string, groups: string[], options: Common & AllowNoAdminOption) => {
        const result = await withCore(cli, async (core) => {
          const u = await core.identity.users.require(who);
          if (name === 'add') {
            const { user: after, added } = await core.identity.addUserToGroups(u.id, groups, 'cli');
            return { email: after.email, groups: after.groups, changed: added };
          }
          const { user: after, removed } = await keepingAnAdmin(core, u, `remove ${u.email} from ${groups.join(', ')}`, { type: 'user.group_removed', detail: { groups } }, () =>
            core.identity.removeUserFromGroups(u.id, groups, 'cli', adminGuardOf(core, options)),
          );
          return { email: after.email, groups: after.groups, changed: removed };
        });
        emit(cli, options.json, result, () => `${result.email}: ${result.changed.length > 0 ? `${verb} ${result.changed.join(', ')}` : 'no change'}; groups now ${result.groups.join(', ') || '-'}`);
      });
  }

  user
    .command('keys')
    .argument('<user>', 'email or id')
    .option('--json', 'print JSON')
    .description("List a user's security keys")
    .action(async (who: string, options: Common) => {
      const keys = await withCore(cli, async (core) => {
        const u = await core.identity.users.require(who);
        return (await core.identity.credentials.listForUser(u.id)).map((k) => ({
          id: k.id,
          name: k.name,
          class: k.authenticatorClass,
          // The model is known only from an attestation that chains to an allowlisted root (webauthn.trusted_models).
          model: k.model ?? '-',
          attestation: k.attestation ?? '-',
          aaguid: k.aaguid,
          counter: k.counter,
          createdAt: isoTime(k.createdAt),
          addedFrom: k.addedIp ?? '-',
          lastUsedAt: isoTime(k.lastUsedAt),
        }));
      });
      emit(cli, options.json, keys, () => table(keys, ['id', 'name', 'class', 'model', 'createdAt', 'addedFrom', 'lastUsedAt']));
    });

  user
    .command('remove-key')
    .argument('<user>', 'email or id')
    .argument('<key-id>', 'credential id (from `user keys`)')
    .option('--allow-no-admin', ALLOW_NO_ADMIN_HELP)
    .option('--json', 'print JSON')
    .description(
      "Remove a key and end the sessions it opened (a user's last key may go; send a new invite afterwards); refused for the last usable administrator's last key unless --allow-no-admin",
    )
    .action(async (who: string, keyId: string, options: Common & AllowNoAdminOption) => {
      const result = await withCore(cli, async (core) => {
        const u = await core.identity.users.require(who);
        const { sessionsRevoked } = await keepingAnAdmin(core, u, `remove key ${keyId} from ${u.email}`, undefined, () =>
          core.identity.removeKey(u.id, keyId, { byAdmin: true, actor: 'cli', guard: adminGuardOf(core, options) }),
        );
        return { email: u.email, removed: keyId, remaining: await core.identity.credentials.countForUser(u.id), sessionsRevoked };
      });
      emit(cli, options.json, result, () => `removed key ${result.removed} from ${result.email}; ${result.remaining} key(s) left; ${result.sessionsRevoked} session(s) it opened revoked`);
    });
}
