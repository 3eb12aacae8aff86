import type { Command } from 'commander';
import type { IssuedServiceToken, ServiceTokenRecord, ServiceTokens, TokenScope } from '../credentials/index.js';
import { serviceTokenAppNamesOf } from '../config/index.js';
import type { GatehouseCore } from '../core.js';
import { GatehouseError, InputError } from '../lib/errors.js';
import type { CliContext } from './cli-context.js';
import { emit, isoTime, table } from './output.js';
import { withCore } from './open-config.js';

interface Common {
  json?: boolean;
}

const ONCE_WARNING = 'The secret is shown only now: Gatehouse keeps a hash of it and cannot show it again. Put it in your secret store now.';
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `90d`, `12h`, `30m` → milliseconds; anything else is a usage error naming the flag. */
export function parseDuration(flag: string, text: string): number {
  const match = /^(\d{1,6})([mhd])$/.exec(text.trim());
  if (!match) throw new InputError(`${flag} ${JSON.stringify(text)}: expected a duration like 90d, 12h or 30m`, 'usage');
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  if (ms <= 0) throw new InputError(`${flag} ${text}: must be more than zero`, 'usage');
  return ms;
}

/** Opens the capability on the CLI's core with the configured limits, and the configured app names. */
async function withTokens<T>(cli: CliContext, run: (tokens: ServiceTokens, core: GatehouseCore) => Promise<T>): Promise<T> {
  const { createServiceTokens, serviceTokenSettingsOf } = await import('../credentials/index.js');
  return withCore(cli, (core) => {
    const tokens = createServiceTokens({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) });
    return run(tokens, core);
  });
}

/** `expired` is shown in place of `active` once the expiry has passed: the token no longer works. */
function shownStatus(t: ServiceTokenRecord, now: number): string {
  return t.status === 'active' && now >= t.expiresAt ? 'expired' : t.status;
}

function summary(t: ServiceTokenRecord, now: number) {
  return {
    name: t.name,
    clientId: t.clientId,
    status: shownStatus(t, now),
    believedUnused: t.believedUnused,
    owner: t.owner,
    apps: t.apps,
    tags: t.tags,
    expiresAt: isoTime(t.expiresAt),
    lastUsedAt: isoTime(t.lastUsedAt),
    lastUsedIp: t.lastUsedIp ?? null,
    lastUsedApp: t.lastUsedApp ?? null,
  };
}

function details(t: ServiceTokenRecord, now: number) {
  return {
    ...summary(t, now),
    description: t.description,
    statusReason: t.statusReason ?? null,
    createdAt: isoTime(t.createdAt),
    createdBy: t.createdBy,
    rotatedAt: isoTime(t.rotatedAt),
    rotatedBy: t.rotatedBy ?? null,
    previousSecretValidUntil: t.previousValidUntil === undefined ? null : isoTime(t.previousValidUntil),
    lastUsedUserAgent: t.lastUsedUserAgent ?? null,
  };
}

function printIssued(cli: CliContext, json: boolean | undefined, verb: string, issued: IssuedServiceToken, extra: string[] = []): void {
  const data = { ...details(issued.token, issued.token.updatedAt), secret: issued.secret, warning: ONCE_WARNING };
  emit(cli, json, data, () =>
    [
      `${verb} service token ${issued.token.name} (expires ${isoTime(issued.token.expiresAt)}, apps: ${issued.token.apps.join(', ')})`,
      ...extra,
      `  Gatehouse-Client-Id:     ${issued.clientId}`,
      `  Gatehouse-Client-Secret: ${issued.secret}`,
    ].join('\n'),
  );
  if (!json) cli.io.stderr.write(`WARNING: ${ONCE_WARNING}\n`);
}

export function registerTokenCommands(program: Command, cli: CliContext): void {
  const tokens = program.command('tokens').description('Service tokens: machine-to-machine credentials for the access proxy');

  tokens
    .command('create')
    .argument('<name>', 'unique name (a slug)')
    .requiredOption('--owner <email>', 'who answers for the token')
    .option('--app <app>', 'an app the token may reach (repeatable, at least one)', collect, [])
    .option('--tag <tag>', 'a tag for policies and campaigns (repeatable)', collect, [])
    .option('--description <text>', 'what the token is for', '')
    .option('--expires-in <duration>', 'lifetime, e.g. 90d (default service_tokens.default_ttl_days)')
    .option('--json', 'print JSON')
    .description('Create a token; prints its client id and secret once')
    .action(async (name: string, options: Common & { owner: string; app: string[]; tag: string[]; description: string; expiresIn?: string }) => {
      const ttlMs = options.expiresIn === undefined ? undefined : parseDuration('--expires-in', options.expiresIn);
      if (options.app.length === 0) throw new InputError('give at least one --app the token may reach', 'usage');
      const issued = await withTokens(cli, (service, core) => {
        const config = core.snapshot().config;
        // The report webhook is a way in of its own: a gateway's token names it like an app.
        const known = new Set(serviceTokenAppNamesOf(config).map((entry) => entry.name));
        for (const app of options.app) if (!known.has(app)) throw new InputError(`--app ${app}: no app of that name (see \`gatehouse apps list\`)`, 'usage');
        return service.create({ name, owner: options.owner, apps: options.app, tags: options.tag, description: options.description, ttlMs, actor: 'cli' });
      });
      printIssued(cli, options.json, 'Created', issued);
    });

  tokens
    .command('list')
    .option('--json', 'print JSON')
    .description('List tokens with status, expiry and last use (time, address, app)')
    .action(async (options: Common) => {
      const rows = await withTokens(cli, async (service, core) => {
        const now = core.clock.now();
        return (await service.list()).map((t) => summary(t, now));
      });
      emit(cli, options.json, rows, () =>
        table(
          rows.map((r) => ({ ...r, apps: r.apps.join(','), lastUsedIp: r.lastUsedIp ?? '-', lastUsedApp: r.lastUsedApp ?? '-' })),
          ['name', 'status', 'owner', 'apps', 'expiresAt', 'lastUsedAt', 'lastUsedIp', 'lastUsedApp'],
        ),
      );
    });

  tokens
    .command('show')
    .argument('<name>')
    .option('--json', 'print JSON')
    .description('Show a token, its last use and the networks and apps it has been used from')
    .action(async (name: string, options: Common) => {
      const data = await withTokens(cli, async (service, core) => {
        const token = await service.show(name);
        const sightings = (await service.sightings(name)).map((s) => ({ ...s, firstSeenAt: isoTime(s.firstSeenAt), lastSeenAt: isoTime(s.lastSeenAt) }));
        return { ...details(token, core.clock.now()), sightings };
      });
      emit(cli, options.json, data, () =>
        [
          `${data.name}  ${data.status}${data.statusReason ? ` (${data.statusReason})` : ''}${data.believedUnused ? '  (believed unused)' : ''}  owner ${data.owner}`,
          `client id: ${data.clientId}`,
          `apps: ${data.apps.join(', ')}   tags: ${data.tags.join(', ') || '-'}`,
          `created ${data.createdAt} by ${data.createdBy}; expires ${data.expiresAt}; rotated ${data.rotatedAt}${data.previousSecretValidUntil ? `; previous secret valid until ${data.previousSecretValidUntil}` : ''}`,
          `last used ${data.lastUsedAt} from ${data.lastUsedIp ?? '-'} on ${data.lastUsedApp ?? '-'} (${data.lastUsedUserAgent ?? '-'})`,
          ...(data.description ? [`description: ${data.description}`] : []),
          '',
          'seen from:',
          table(data.sightings, ['kind', 'value', 'firstSeenAt', 'lastSeenAt']),
        ].join('\n'),
      );
    });

  tokens
    .command('rotate')
    .argument('<name>')
    .option('--overlap <duration>', 'keep the old secret working this long (e.g. 24h) while clients move to the new one')
    .option('--emergency', 'the old secret stops working at once, on every instance')
    .option('--expires-in <duration>', 'also give the token a new lifetime from now')
    .option('--json', 'print JSON')
    .description('Issue a new secret (printed once); the old one ends after --overlap, or at once with --emergency')
    .action(async (name: string, options: Common & { overlap?: string; emergency?: boolean; expiresIn?: string }) => {
      if ((options.overlap === undefined) === (options.emergency !== true)) throw new InputError('give exactly one of --overlap <duration> or --emergency', 'usage');
      const overlapMs = options.overlap === undefined ? undefined : parseDuration('--overlap', options.overlap);
      const ttlMs = options.expiresIn === undefined ? undefined : parseDuration('--expires-in', options.expiresIn);
      const issued = await withTokens(cli, (service, core) =>
        overlapMs === undefined
          ? service.rotate(name, { emergency: true, actor: 'cli', ttlMs })
          : service.rotate(name, { overlapUntil: core.clock.now() + overlapMs, actor: 'cli', ttlMs }),
      );
      const old = issued.token.previousValidUntil === undefined ? 'The old secret no longer works.' : `The old secret works until ${isoTime(issued.token.previousValidUntil)}.`;
      printIssued(cli, options.json, 'Rotated', issued, [old]);
    });

  tokens
    .command('revoke')
    .argument('[name]', 'one token')
    .option('--tag <tag>', 'every token with this tag')
    .option('--owner <email>', 'every token of this owner')
    .option('--all', 'every token (needs --yes)')
    .option('--yes', 'confirm --all')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--json', 'print JSON')
    .description('Revoke a token, or every token with a tag, of an owner, or all of them, for good, on every instance at once (one transaction)')
    .action(async (name: string | undefined, options: Common & { tag?: string; owner?: string; all?: boolean; yes?: boolean; reason?: string }) => {
      const chosen = [name !== undefined, options.tag !== undefined, options.owner !== undefined, options.all === true].filter(Boolean).length;
      if (chosen !== 1) throw new InputError('give exactly one of: a token name, --tag TAG, --owner EMAIL, --all --yes', 'usage');
      if (options.all && options.yes !== true) {
        const { SERVICE_TOKEN_ERRORS } = await import('../credentials/index.js');
        throw new GatehouseError(SERVICE_TOKEN_ERRORS.confirmationRequired, { status: 400, publicMessage: '--all revokes every service token of this deployment: add --yes to confirm' });
      }
      if (name !== undefined) {
        const data = await withTokens(cli, async (service, core) => details(await service.revoke(name, { actor: 'cli', reason: options.reason }), core.clock.now()));
        emit(cli, options.json, data, () => `${data.name}: ${data.status}`);
        return;
      }
      const scope: TokenScope = options.tag !== undefined ? { tag: options.tag } : options.owner !== undefined ? { owner: options.owner } : { all: true };
      const result = await withTokens(cli, (service) => service.revokeMany(scope, { actor: 'cli', reason: options.reason }));
      emit(cli, options.json, result, () => `${result.revoked.length} service token(s) revoked${result.alreadyRevoked > 0 ? ` (${result.alreadyRevoked} already revoked)` : ''}`);
    });

  for (const verb of ['suspend', 'resume'] as const) {
    const command = tokens.command(verb).argument('<name>').option('--json', 'print JSON');
    if (verb !== 'resume') command.option('--reason <text>', 'why (kept in the audit log)');
    command
      .description(verb === 'suspend' ? 'Stop a token working until it is resumed' : 'Let a suspended token work again (never a revoked one)')
      .action(async (name: string, options: Common & { reason?: string }) => {
        const data = await withTokens(cli, async (service, core) => {
          const token = verb === 'resume' ? await service.resume(name, { actor: 'cli' }) : await service[verb](name, { actor: 'cli', reason: options.reason });
          return details(token, core.clock.now());
        });
        emit(cli, options.json, data, () => `${data.name}: ${data.status}`);
      });
  }

  tokens
    .command('mark-unused')
    .argument('<name>')
    .option('--clear', 'withdraw the mark')
    .option('--json', 'print JSON')
    .description('Record that the owner believes the token unused: it keeps working, and any use of it is the loudest anomaly (revoke it to be sure)')
    .action(async (name: string, options: Common & { clear?: boolean }) => {
      const data = await withTokens(cli, async (service, core) => details(await service.markBelievedUnused(name, { believedUnused: options.clear !== true, actor: 'cli' }), core.clock.now()));
      emit(cli, options.json, data, () => `${data.name}: ${data.believedUnused ? 'marked believed unused (it still works: revoke it to be sure)' : 'no longer marked believed unused'}`);
    });
}
