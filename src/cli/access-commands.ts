import type { Command } from 'commander';
import type { GatehouseCore } from '../core.js';
import type { ServiceTokenRecord } from '../credentials/index.js';
import type { CliContext } from './cli-context.js';
import { InputError } from '../lib/errors.js';
import { httpMethod, ipAddress, nonNegativeNumber, positiveNumber, requestPath } from './cli-arguments.js';
import { emit, isoTime, table } from './output.js';
import { loadSnapshot, withCore } from './open-config.js';

const AMR_VALUES = new Set(['hwk', 'swk', 'pwd', 'otp', 'mfa']);

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A service token as stored (name, tags, apps, status); `service_token_not_found` names a missing one. */
async function serviceTokenNamed(core: GatehouseCore, name: string): Promise<ServiceTokenRecord> {
  const { createServiceTokens, serviceTokenSettingsOf } = await import('../credentials/index.js');
  const tokens = createServiceTokens({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) });
  return tokens.show(name);
}

export function registerAccessCommands(program: Command, cli: CliContext): void {
  const apps = program.command('apps').description('Apps behind the access proxy');
  apps
    .command('list')
    .option('--json', 'print JSON')
    .description('List the configured apps and their policies')
    .action((options: { json?: boolean }) => {
      const { config } = loadSnapshot(cli);
      const rows = config.apps.map((app) => ({
        name: app.name,
        host: app.host,
        upstream: app.upstream,
        policies: app.policies.map((p, i) => ({ name: p.name ?? `policies[${i}]`, action: p.action })),
      }));
      emit(cli, options.json, rows, () => table(rows.map((r) => ({ ...r, policies: r.policies.map((p) => `${p.name}:${p.action}`) })), ['name', 'host', 'upstream', 'policies']));
    });

  program
    .command('policy')
    .description('Access policies')
    .command('test')
    .requiredOption('--app <app>', 'app name')
    .option('--user <email>', 'a user in the database (groups come from it); omit for an anonymous request')
    .option('--service-token <name>', 'a service token in the database (its tags come from it): a machine\'s request instead of a person\'s')
    .option('--ip <ip>', 'client address', ipAddress, '127.0.0.1')
    .option('--amr <value>', 'session AMR value (repeatable): hwk swk pwd otp mfa', collect, [])
    .option('--auth-age <minutes>', 'minutes since the last security-key proof', nonNegativeNumber)
    .option('--method <method>', 'HTTP method', httpMethod, 'GET')
    .option('--path <path>', 'request path', requestPath, '/')
    .option('--json', 'print JSON')
    .description('Print the decision and its reasons for a request, without making one')
    .action(async (options: { app: string; user?: string; serviceToken?: string; ip: string; amr: string[]; authAge?: number; method: string; path: string; json?: boolean }) => {
      if (options.user !== undefined && options.serviceToken !== undefined) throw new InputError('--user and --service-token: give one; a request is a person\'s or a machine\'s, never both', 'usage');
      for (const value of options.amr) if (!AMR_VALUES.has(value)) throw new InputError(`--amr ${value}: expected one of ${[...AMR_VALUES].join(', ')}`, 'usage');
      const { testPolicy } = await import('../access/policy/index.js');
      const result = await withCore(cli, async (core) => {
        const { config } = core.snapshot();
        const now = core.clock.now();
        const user = options.user ? await core.identity.users.require(options.user) : undefined;
        const token = options.serviceToken === undefined ? undefined : await serviceTokenNamed(core, options.serviceToken);
        const tested = testPolicy(
          { apps: config.apps, access: config.access },
          {
            app: options.app,
            ...(user ? { user } : {}),
            ...(token ? { serviceToken: { name: token.name, tags: token.tags } } : {}),
            amr: options.amr,
            ...(options.authAge !== undefined ? { authAgeMinutes: options.authAge } : {}),
            ip: options.ip,
            method: options.method,
            path: options.path,
            now,
          },
        );
        if (!tested) throw new InputError(`no app named "${options.app}" (see \`gatehouse apps list\`)`, 'usage');
        const { decision, explanation, amr } = tested;
        // The gateway verifies the token before any policy runs: say when it would never get this far.
        const notes: string[] = [];
        if (token && !token.apps.includes(options.app)) notes.push(`service token ${token.name} does not name app ${options.app}: the gateway refuses it before any policy (service_token_app_not_allowed)`);
        if (token && token.status !== 'active') notes.push(`service token ${token.name} is ${token.status}: the gateway refuses it before any policy`);
        if (token && token.status === 'active' && now >= token.expiresAt) notes.push(`service token ${token.name} has expired: the gateway refuses it before any policy`);
        return { app: options.app, user: user?.email ?? null, serviceToken: token?.name ?? null, amr, ...decision, explanation, notes };
      });
      emit(cli, options.json, result, () =>
        [`${result.outcome.toUpperCase()}${result.policy ? ` by policy ${result.policy}` : ''}: ${result.explanation}`, ...result.reasons.map((r) => `  - ${r}`), ...result.notes.map((n) => `note: ${n}`)].join('\n'),
      );
    });

  const ip = program.command('ip').description('Addresses blocked at every app and the portal');
  ip.command('list')
    .option('--json', 'print JSON')
    .description('List blocked addresses')
    .action(async (options: { json?: boolean }) => {
      const { IpBlocks } = await import('../access/index.js');
      const rows = await withCore(cli, async (core) => {
        const blocks = new IpBlocks(core.store, core.clock, core.audit);
        await blocks.load();
        return blocks.list().map((b) => ({ ...b, expiresAt: isoTime(b.expiresAt) }));
      });
      emit(cli, options.json, rows, () => table(rows, ['cidr', 'reason', 'expiresAt']));
    });
  ip.command('block')
    .argument('<cidr>', 'address or CIDR range')
    .requiredOption('--reason <text>', 'why (kept in the audit log)')
    .option('--hours <n>', 'lift the block after this many hours', positiveNumber)
    .option('--json', 'print JSON')
    .description('Block an address on every instance, at once')
    .action(async (cidr: string, options: { reason: string; hours?: number; json?: boolean }) => {
      const { IpBlocks } = await import('../access/index.js');
      const expiresAt = await withCore(cli, async (core) => {
        const blocks = new IpBlocks(core.store, core.clock, core.audit);
        const until = options.hours === undefined ? undefined : core.clock.now() + options.hours * 3_600_000;
        await blocks.block(cidr, { reason: options.reason, actor: 'cli', ...(until !== undefined ? { expiresAt: until } : {}) });
        return until;
      });
      emit(cli, options.json, { blocked: cidr, reason: options.reason, expiresAt: expiresAt ?? null }, () => `blocked ${cidr}${expiresAt === undefined ? '' : ` until ${isoTime(expiresAt)}`}`);
    });
  ip.command('unblock')
    .argument('<cidr>')
    .option('--json', 'print JSON')
    .description('Lift a block')
    .action(async (cidr: string, options: { json?: boolean }) => {
      const { IpBlocks } = await import('../access/index.js');
      const removed = await withCore(cli, (core) => new IpBlocks(core.store, core.clock, core.audit).unblock(cidr, 'cli'));
      emit(cli, options.json, { cidr, unblocked: removed }, () => (removed ? `unblocked ${cidr}` : `${cidr} was not blocked`));
    });
}
