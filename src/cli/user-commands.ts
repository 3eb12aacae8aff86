import type { Command } from 'commander';
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
    user
      .command(name)
      .argument('<user>', 'email or id')
      .option('--json', 'print JSON')
      .description(name === 'disable' ? 'Disable a user: every session ends at once, sign-in is refused' : 'Enable a disabled user')
      .action(async (who: string, options: Common) => {
        const result = await withCore(cli, async (core) => {
          const u = await core.identity.users.require(who);
          await core.identity.setUserStatus(u.id, status, 'cli');
          const revoked = status === 'disabled' ? await core.identity.revokeUserSessions(u.id, { actor: 'cli', reason: 'user disabled' }) : 0;
          return { email: u.email, status, sessionsRevoked: revoked };
        });
        emit(cli, options.json, result, () => `${result.email}: ${result.status}${status === 'disabled' ? `, ${result.sessionsRevoked} session(s) revoked` : ''}`);
      });
  }

  const group = user.command('group').description("Change a user's group memberships (every instance sees it at once)");
  for (const [name, verb] of [['add', 'added to'], ['remove', 'removed from']] as const) {
    group
      .command(name)
      .argument('<user>', 'email or id')
      .argument('<groups...>', 'group names')
      .option('--json', 'print JSON')
      .description(name === 'add' ? 'Add a user to groups (audited as user.group_added)' : 'Remove a user from groups (audited as user.group_removed)')
      .action(async (who: string, groups: string[], options: Common) => {
        const result = await withCore(cli, async (core) => {
          const u = await core.identity.users.require(who);
          if (name === 'add') {
            const { user: after, added } = await core.identity.addUserToGroups(u.id, groups, 'cli');
            return { email: after.email, groups: after.groups, changed: added };
          }
          const { user: after, removed } = await core.identity.removeUserFromGroups(u.id, groups, 'cli');
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
    .option('--json', 'print JSON')
    .description('Remove a key and end the sessions it opened (an admin may remove the last one; send a new invite afterwards)')
    .action(async (who: string, keyId: string, options: Common) => {
      const result = await withCore(cli, async (core) => {
        const u = await core.identity.users.require(who);
        const { sessionsRevoked } = await core.identity.removeKey(u.id, keyId, { byAdmin: true, actor: 'cli' });
        return { email: u.email, removed: keyId, remaining: await core.identity.credentials.countForUser(u.id), sessionsRevoked };
      });
      emit(cli, options.json, result, () => `removed key ${result.removed} from ${result.email}; ${result.remaining} key(s) left; ${result.sessionsRevoked} session(s) it opened revoked`);
    });
}
