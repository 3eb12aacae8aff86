import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CredentialInventory, InventoryItem, OwnCredential } from '../credentials/index.js';
import type { GatehouseCore } from '../core.js';
import { InputError } from '../lib/errors.js';
import type { CliContext } from './cli-context.js';
import { emit, isoTime, table } from './output.js';
import { withCore } from './open-config.js';

interface Common {
  json?: boolean;
}

interface FieldFlags {
  kind?: string;
  system?: string;
  owner?: string;
  scope?: string;
  rotator?: string;
  locator?: string;
  lastUsedAt?: string;
  lastUsedEvidence?: string;
  lastRotatedAt?: string;
  createdAt?: string;
  believedUnused?: boolean;
}

async function withInventory<T>(cli: CliContext, run: (inventory: CredentialInventory, core: GatehouseCore) => Promise<T>): Promise<T> {
  const { CredentialInventory } = await import('../credentials/index.js');
  return withCore(cli, (core) => run(new CredentialInventory(core.store, core.clock, core.random, core.audit), core));
}

/**
 * An item may name a rotator before the `rotators:` section configures it (the inventory is often
 * imported first), so this warns rather than refuses; `campaign start` refuses such items by name.
 */
function warnUnconfiguredRotators(cli: CliContext, core: GatehouseCore, items: readonly { name: string; rotator?: string | undefined }[]): void {
  const configured = Object.keys(core.snapshot().config.rotators);
  for (const item of items) {
    if (item.rotator === undefined || configured.includes(item.rotator)) continue;
    cli.io.stderr.write(`warning: ${item.name}: rotator "${item.rotator}" is not configured in ${core.snapshot().path} (${configured.length === 0 ? 'no rotators: section' : `configured: ${configured.sort().join(', ')}`}); campaign start will refuse it until it is\n`);
  }
}

/** Flags as inventory fields; only those given, so `edit` changes only what was asked. */
function fieldsOf(flags: FieldFlags): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const map: [keyof FieldFlags, string][] = [
    ['kind', 'kind'],
    ['system', 'system'],
    ['owner', 'owner'],
    ['scope', 'scope'],
    ['rotator', 'rotator'],
    ['locator', 'locator'],
    ['lastUsedAt', 'last_used_at'],
    ['lastUsedEvidence', 'last_used_evidence'],
    ['lastRotatedAt', 'last_rotated_at'],
    ['createdAt', 'created_at'],
    ['believedUnused', 'believed_unused'],
  ];
  for (const [flag, field] of map) if (flags[flag] !== undefined) fields[field] = flags[flag];
  return fields;
}

function row(item: InventoryItem) {
  return {
    name: item.name,
    kind: item.kind,
    system: item.system,
    owner: item.owner,
    status: item.status,
    believedUnused: item.believedUnused,
    lastRotatedAt: isoTime(item.lastRotatedAt),
    lastUsedAt: isoTime(item.lastUsedAt),
    lastUsedEvidence: item.lastUsedEvidence ?? null,
    rotator: item.rotator ?? null,
    locator: item.locator,
    scope: item.scope,
    source: 'inventory',
  };
}

function ownRow(own: OwnCredential) {
  return {
    name: own.name,
    kind: own.kind,
    system: own.system,
    owner: own.owner,
    status: own.status,
    believedUnused: own.believedUnused,
    lastRotatedAt: isoTime(own.lastRotatedAt),
    lastUsedAt: isoTime(own.lastUsedAt),
    lastUsedEvidence: null,
    rotator: own.source === 'service_token' ? 'gatehouse-service-token' : null,
    detail: own.detail,
    source: own.source,
  };
}

function fieldOptions(command: Command): Command {
  return command
    .option('--kind <kind>', 'service_account | api_token | ssh_key | database_role | other')
    .option('--system <system>', 'the system it belongs to (github, wiki, billing-db, …)')
    .option('--owner <email>', 'who answers for it')
    .option('--scope <text>', 'what it can do there')
    .option('--rotator <name>', 'the rotator that rotates it (postgres-role, ssh-authorized-key, exec, …)')
    .option('--locator <json>', 'where it lives, for the rotator, as a JSON object of strings (never a secret)')
    .option('--created-at <date>', 'ISO 8601')
    .option('--last-rotated-at <date>', 'ISO 8601')
    .option('--last-used-at <date>', 'ISO 8601')
    .option('--last-used-evidence <text>', 'where the last use was seen (log line, audit entry, …)');
}

export function registerInventoryCommands(program: Command, cli: CliContext): void {
  const inventory = program.command('inventory').description('The credential inventory: external credentials, and Gatehouse’s own listed live');

  inventory
    .command('list')
    .option('--all', 'include retired credentials')
    .option('--external', 'only the inventory, without Gatehouse’s own credentials')
    .option('--json', 'print JSON')
    .description('List every credential: the inventory and Gatehouse’s own (service tokens, signing keys, checkpoint key, KEK id, DoH tokens)')
    .action(async (options: Common & { all?: boolean; external?: boolean }) => {
      const rows = await withInventory(cli, async (service, core) => {
        const external = (await service.list({ includeRetired: options.all === true })).map(row);
        if (options.external) return external;
        const { createServiceTokens, serviceTokenSettingsOf, listOwnCredentials } = await import('../credentials/index.js');
        const tokens = createServiceTokens({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) });
        const own = await listOwnCredentials({ store: core.store, tokens, sealer: core.secrets, operator: 'gatehouse-operators', clock: core.clock });
        return [...own.map(ownRow), ...external];
      });
      emit(cli, options.json, rows, () => table(rows, ['name', 'kind', 'system', 'owner', 'status', 'believedUnused', 'lastRotatedAt', 'lastUsedAt', 'rotator', 'source']));
    });

  inventory
    .command('show')
    .argument('<name>')
    .option('--json', 'print JSON')
    .description('Show one external credential')
    .action(async (name: string, options: Common) => {
      const item = await withInventory(cli, (service) => service.show(name));
      emit(cli, options.json, row(item), () => Object.entries(row(item)).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n'));
    });

  inventory
    .command('import')
    .argument('<file>', 'a CSV file with a header line, or a JSON array')
    .option('--format <format>', 'csv or json (default: from the file extension)')
    .option('--json', 'print JSON')
    .description('Import credentials; strict: one bad row and nothing is written. Re-importing the same file changes nothing.')
    .action(async (file: string, options: Common & { format?: string }) => {
      const format = (options.format ?? extname(file).slice(1)).toLowerCase();
      if (format !== 'csv' && format !== 'json') throw new InputError('--format must be csv or json (or name the file .csv or .json)', 'usage');
      const path = resolve(cli.io.cwd, file);
      const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new InputError(`${file}: cannot read (${error.code ?? error.message})`, 'usage');
      });
      const { parseInventoryCsv, parseInventoryJson } = await import('../credentials/index.js');
      const rows = format === 'csv' ? parseInventoryCsv(text) : parseInventoryJson(text);
      const result = await withInventory(cli, async (service, core) => {
        const imported = await service.importRows(rows, 'cli', file);
        warnUnconfiguredRotators(cli, core, rows);
        return imported;
      });
      emit(cli, options.json, result, () => `Imported ${rows.length} credential(s) from ${file}: ${result.added} added, ${result.updated} updated, ${result.unchanged} unchanged`);
    });

  fieldOptions(inventory.command('add').argument('<name>'))
    .option('--believed-unused', 'its owner believes it is no longer used (a campaign will revoke it, never skip it)')
    .option('--json', 'print JSON')
    .description('Add an external credential')
    .action(async (name: string, options: Common & FieldFlags) => {
      const item = await withInventory(cli, async (service, core) => {
        const added = await service.add({ name, ...fieldsOf(options) }, 'cli');
        warnUnconfiguredRotators(cli, core, [added]);
        return added;
      });
      emit(cli, options.json, row(item), () => `Added ${item.name} (${item.kind} on ${item.system}, owner ${item.owner})`);
    });

  fieldOptions(inventory.command('edit').argument('<name>'))
    .option('--believed-unused <bool>', 'true or false')
    .option('--rename <name>', 'a new name')
    .option('--json', 'print JSON')
    .description('Change fields of an external credential')
    .action(async (name: string, options: Common & Omit<FieldFlags, 'believedUnused'> & { believedUnused?: string; rename?: string }) => {
      const { believedUnused, rename, ...rest } = options;
      const changes = { ...fieldsOf(rest), ...(believedUnused === undefined ? {} : { believed_unused: believedUnused }), ...(rename === undefined ? {} : { name: rename }) };
      if (Object.keys(changes).length === 0) throw new InputError('nothing to change: give at least one field flag', 'usage');
      const item = await withInventory(cli, async (service, core) => {
        const edited = await service.edit(name, changes, 'cli');
        if (rest.rotator !== undefined) warnUnconfiguredRotators(cli, core, [edited]);
        return edited;
      });
      emit(cli, options.json, row(item), () => `Updated ${item.name}`);
    });

  inventory
    .command('retire')
    .argument('<name>')
    .option('--reason <text>', 'why')
    .option('--json', 'print JSON')
    .description('Retire an external credential (kept for the record; campaigns skip it)')
    .action(async (name: string, options: Common & { reason?: string }) => {
      const item = await withInventory(cli, (service) => service.retire(name, 'cli', options.reason));
      emit(cli, options.json, row(item), () => `Retired ${item.name}`);
    });
}
