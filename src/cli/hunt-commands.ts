import type { Command } from 'commander';
import type { CliContext } from './cli-context.js';
import type { HuntResult } from '../incident/index.js';
import { emit, isoTime, table } from './output.js';
import { withIncidents } from './incident-commands.js';

function human(result: HuntResult): string {
  return [
    `hunt ${result.hunt}: ${isoTime(result.window.since)} to ${isoTime(result.window.until)}`,
    '',
    `users (${result.users.length})`,
    table(result.users.map((u) => ({ email: u.email, status: u.status, why: u.reasons.slice(0, 3).join('; ') })), ['email', 'status', 'why']),
    '',
    `live sessions (${result.sessions.length})`,
    table(result.sessions.map((s) => ({ handle: s.handle, user: result.users.find((u) => u.id === s.userId)?.email ?? s.userId, ip: s.ip, amr: s.amr.join(' '), created: isoTime(s.createdAt) })), ['handle', 'user', 'ip', 'amr', 'created']),
    ...(result.clients ? ['', `clients (${result.clients.length}): ${result.clients.join(' ')}`] : []),
    ...(result.tokens ?? []).flatMap((t) => [
      '',
      `token ${t.name} (${t.status}, owner ${t.owner}): ${t.refusals} refusal(s) in the window`,
      `  last use   ${t.lastUse ? `${isoTime(t.lastUse.at)} from ${t.lastUse.ip ?? '?'} on ${t.lastUse.app ?? '?'} (${t.lastUse.userAgent ?? 'no user agent'})` : 'never'}`,
      ...[...t.networks.map((n) => ({ ...n, kind: 'network' })), ...t.apps.map((a) => ({ ...a, kind: 'app' }))].map((s) => `  ${s.kind.padEnd(9)}  ${s.value}  first ${isoTime(s.firstSeenAt)}  last ${isoTime(s.lastSeenAt)}`),
    ]),
    '',
    `evidence: ${result.evidence.length} row(s)${result.truncated ? ' (truncated)' : ''}; --json prints them`,
  ].join('\n');
}


export function registerHuntCommands(program: Command, cli: CliContext): void {
  const hunt = program.command('hunt').description('Hunts: who is affected (users, sessions and the evidence rows)');
  const run = async (name: string, params: Record<string, unknown>, json: boolean | undefined) => {
    const result = await withIncidents(cli, (incidents) => incidents.hunt(name, params));
    emit(cli, json, result, () => human(result));
  };

  hunt
    .command('password-without-key')
    .option('--since <duration>', 'window such as 24h or 7d (default incident.hunt_window_hours)')
    .option('--json', 'print JSON')
    .description('Users who passed a password (or password+TOTP) step but gave no security-key proof in the window')
    .action((options: { since?: string; json?: boolean }) => run('password-without-key', { ...(options.since ? { since: options.since } : {}) }, options.json));

  hunt
    .command('from-ip')
    .argument('<ips...>', 'addresses or CIDR ranges')
    .option('--since <duration>', 'window such as 24h or 7d')
    .option('--json', 'print JSON')
    .description('Sign-ins, denials and live sessions from these addresses')
    .action((ips: string[], options: { since?: string; json?: boolean }) => run('from-ip', { ips, ...(options.since ? { since: options.since } : {}) }, options.json));

  hunt
    .command('resolved-domain')
    .argument('<domains...>', 'domain names (subdomains included)')
    .option('--since <duration>', 'window such as 24h or 7d')
    .option('--json', 'print JSON')
    .description('Clients and users who resolved these domains (who clicked)')
    .action((domains: string[], options: { since?: string; json?: boolean }) => run('resolved-domain', { domains, ...(options.since ? { since: options.since } : {}) }, options.json));

  hunt
    .command('token-use')
    .argument('<names...>', 'service token names')
    .option('--since <duration>', 'window such as 24h or 7d')
    .option('--json', 'print JSON')
    .description('Networks and apps these service tokens were used from in the window, their last use and their refusals (per-request history: the proxy access log)')
    .action((tokens: string[], options: { since?: string; json?: boolean }) => run('token-use', { tokens, ...(options.since ? { since: options.since } : {}) }, options.json));

  hunt
    .command('new-admins')
    .option('--since <duration>', 'window such as 24h or 7d')
    .option('--json', 'print JSON')
    .description('Users added to an admin group (identity.admin_groups) in the window')
    .action((options: { since?: string; json?: boolean }) => run('new-admins', { ...(options.since ? { since: options.since } : {}) }, options.json));
}
