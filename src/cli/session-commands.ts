import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { CliContext } from './cli-context.js';
import type { GatehouseCore } from '../core.js';
import { InputError } from '../lib/errors.js';
import { emit, isoTime, table } from './output.js';
import { withCore } from './open-config.js';

/** One line typed at a terminal; the answer is `yes` or it is a no. */
async function confirmed(cli: CliContext, question: string): Promise<boolean> {
  cli.io.stderr.write(`${question} Type yes to confirm: `);
  const lines = createInterface({ input: cli.io.stdin, terminal: false });
  try {
    for await (const line of lines) return line.trim().toLowerCase() === 'yes';
    return false;
  } finally {
    lines.close();
  }
}

/**
 * `--all` signs every user out of every app at once: it needs --yes, or a typed yes at a terminal.
 * Refused otherwise as a usage error that says how many sessions it would have ended.
 */
async function confirmAll(cli: CliContext, core: GatehouseCore, yes: boolean): Promise<void> {
  if (yes) return;
  const count = await core.identity.sessions.countActive();
  const what = `--all would revoke ${count} active session(s) of every user`;
  if (cli.io.stdin.isTTY === true && (await confirmed(cli, `${what}.`))) return;
  throw new InputError(`${what}: add --yes to confirm`, 'confirmation_required');
}

export function registerSessionCommands(program: Command, cli: CliContext): void {
  const sessions = program.command('sessions').description('Portal sessions');

  sessions
    .command('list')
    .option('--user <user>', 'only this user (email or id)')
    .option('--json', 'print JSON')
    .description('List active sessions')
    .action(async (options: { user?: string; json?: boolean }) => {
      const rows = await withCore(cli, async (core) => {
        const list = options.user
          ? await core.identity.sessions.listForUser((await core.identity.users.require(options.user)).id)
          : await core.identity.sessions.listActive();
        const emails = new Map((await core.identity.users.list()).map((u) => [u.id, u.email]));
        return list.map((s) => ({
          handle: s.handle,
          user: emails.get(s.userId) ?? s.userId,
          amr: s.amr,
          ip: s.ip,
          createdAt: isoTime(s.createdAt),
          lastSeenAt: isoTime(s.lastSeenAt),
          phishingResistantAt: isoTime(s.phishingResistantAt),
        }));
      });
      emit(cli, options.json, rows, () => table(rows, ['handle', 'user', 'amr', 'ip', 'createdAt', 'lastSeenAt']));
    });

  sessions
    .command('revoke')
    .argument('[handle]', 'one session (the handle from `sessions list`)')
    .option('--user <user>', "every session of this user (email or id)")
    .option('--all', 'every session of every user (needs --yes, or a typed yes at a terminal)')
    .option('--yes', 'confirm --all')
    .option('--reason <text>', 'recorded in the audit log', 'revoked from the CLI')
    .option('--json', 'print JSON')
    .description('Revoke sessions: refused on the next request on every instance')
    .action(async (handle: string | undefined, options: { user?: string; all?: boolean; yes?: boolean; reason: string; json?: boolean }) => {
      const chosen = [handle !== undefined, options.user !== undefined, options.all === true].filter(Boolean).length;
      if (chosen !== 1) throw new InputError('give exactly one of: a session handle, --user USER, --all', 'usage');
      const revoked = await withCore(cli, async (core) => {
        const input = { actor: 'cli', reason: options.reason };
        if (options.all) {
          await confirmAll(cli, core, options.yes === true);
          return core.identity.revokeAllSessions(input);
        }
        if (options.user) return core.identity.revokeUserSessions((await core.identity.users.require(options.user)).id, input);
        return core.identity.revokeSessionByHandle(handle!, input);
      });
      emit(cli, options.json, { revoked }, () => `${revoked} session(s) revoked`);
    });
}
