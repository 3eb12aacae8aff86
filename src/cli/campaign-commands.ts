import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Campaigns, RotationTarget, Rotator } from '../credentials/index.js';
import type { GatehouseCore } from '../core.js';
import { InputError } from '../lib/errors.js';
import type { CliContext } from './cli-context.js';
import { emit, isoTime, table } from './output.js';
import { withCore } from './open-config.js';
import { parseDuration } from './token-commands.js';

interface Common {
  json?: boolean;
}

/**
 * A secret sink for the CLI: one file per credential, mode 0600, in a directory the operator names.
 * The campaign never prints or stores a new secret; this file is the one place it goes.
 */
function fileSink(cli: CliContext, dir: string) {
  const root = resolve(cli.io.cwd, dir);
  return async (target: RotationTarget, secret: Buffer): Promise<string> => {
    await mkdir(root, { recursive: true, mode: 0o700 });
    const base = (target.locator.token ?? target.itemId).replace(/[^A-Za-z0-9_.-]/g, '_');
    const path = join(root, `${base}.secret`);
    await writeFile(path, secret, { mode: 0o600 });
    await chmod(path, 0o600);
    return `file:${path}`;
  };
}

/**
 * The rotators the CLI can reach. The built-in ones (PostgreSQL role, SSH authorized key, exec) need
 * their sinks and connection settings from configuration; until those are wired here, every external
 * item becomes an owner task (still closed only on evidence).
 */
function cliRotators(): ReadonlyMap<string, Rotator> {
  return new Map();
}

async function withCampaigns<T>(cli: CliContext, deliverDir: string | undefined, run: (campaigns: Campaigns, core: GatehouseCore) => Promise<T>): Promise<T> {
  const { createCampaigns, createServiceTokens, serviceTokenSettingsOf } = await import('../credentials/index.js');
  return withCore(cli, async (core) => {
    const tokens = createServiceTokens({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) });
    // The verifier snapshot is what a token item's probe presents the new secret to.
    await tokens.load();
    const campaigns = createCampaigns({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, tokens, rotators: cliRotators(), deliverSecret: deliverDir === undefined ? undefined : fileSink(cli, deliverDir) });
    return run(campaigns, core);
  });
}

async function runWithProgress(cli: CliContext, campaigns: Campaigns, id: string, retryFailed: boolean) {
  const { createProgressReporter } = await import('../credentials/index.js');
  const stderr = cli.io.stderr as { write(text: string): unknown; isTTY?: boolean };
  const progress = createProgressReporter({ write: (text) => stderr.write(text), isTTY: stderr.isTTY === true });
  try {
    return await campaigns.run(id, { actor: 'cli', retryFailed, onProgress: (p) => progress.update(p) });
  } finally {
    progress.end();
  }
}

function printRun(cli: CliContext, json: boolean | undefined, id: string, result: Awaited<ReturnType<Campaigns['run']>>, extra: Record<string, unknown> = {}) {
  // One-time links go to the owners by email; printed here until mail delivery is wired (the CLI
  // operator is already trusted with the database these tasks live in).
  emit(cli, json, { campaign: id, ...extra, ...result }, () =>
    [
      `Campaign ${id}: ${Object.entries(result.counts).map(([state, n]) => `${n} ${state}`).join(', ')}`,
      ...result.ownerTasks.map((t) => `  owner task for ${t.item} (${t.owner}): one-time link token ${t.linkToken}`),
    ].join('\n'),
  );
}

export function registerCampaignCommands(program: Command, cli: CliContext): void {
  const campaign = program.command('campaign').description('Rotation campaigns: rotate every credential in scope, each closed only on evidence');

  campaign
    .command('start')
    .requiredOption('--reason <text>', 'why (e.g. "vendor breach")')
    .option('--scope <filter>', 'kind=…,system=…,owner=… (a key given twice means either value)')
    .option('--emergency', 'rotate Gatehouse service tokens with no overlap: old secrets fail at once')
    .option('--overlap <duration>', 'how long old service-token secrets keep working (default 24h)')
    .option('--deliver-dir <dir>', 'directory new secrets are written to (one 0600 file each)')
    .option('--no-run', 'only snapshot the credentials; run with `campaign resume`')
    .option('--json', 'print JSON')
    .description('Snapshot every credential in scope and rotate them')
    .action(async (options: Common & { reason: string; scope?: string; emergency?: boolean; overlap?: string; deliverDir?: string; run: boolean }) => {
      if (options.emergency && options.overlap !== undefined) throw new InputError('give at most one of --emergency and --overlap', 'usage');
      const overlapMs = options.overlap === undefined ? undefined : parseDuration('--overlap', options.overlap);
      const { parseCampaignScope } = await import('../credentials/index.js');
      const scope = parseCampaignScope(options.scope);
      await withCampaigns(cli, options.deliverDir, async (campaigns) => {
        const started = await campaigns.start({ reason: options.reason, scope, emergency: options.emergency === true, overlapMs, actor: 'cli' });
        cli.io.stderr.write(`campaign ${started.campaign.id}: ${started.items} credential(s) in scope\n`);
        if (!options.run) return emit(cli, options.json, { campaign: started.campaign.id, items: started.items }, () => started.campaign.id);
        printRun(cli, options.json, started.campaign.id, await runWithProgress(cli, campaigns, started.campaign.id, false), { items: started.items });
      });
    });

  campaign
    .command('resume')
    .argument('<id>')
    .option('--deliver-dir <dir>', 'directory new secrets are written to (one 0600 file each)')
    .option('--json', 'print JSON')
    .description('Continue a campaign after a crash or a fix: re-runs abandoned and failed items, finishes ended overlaps')
    .action(async (id: string, options: Common & { deliverDir?: string }) => {
      await withCampaigns(cli, options.deliverDir, async (campaigns) => printRun(cli, options.json, id, await runWithProgress(cli, campaigns, id, true)));
    });

  campaign
    .command('status')
    .argument('<id>')
    .option('--json', 'print JSON')
    .description('Counts by state')
    .action(async (id: string, options: Common) => {
      const status = await withCampaigns(cli, undefined, (campaigns) => campaigns.status(id));
      const data = { campaign: id, reason: status.campaign.reason, status: status.campaign.status, total: status.total, byState: status.byState, byEndState: status.byEndState };
      emit(cli, options.json, data, () =>
        [`${id} (${status.campaign.status}): ${status.campaign.reason}`, `  ${status.total} items: ${Object.entries(status.byState).map(([s, n]) => `${n} ${s}`).join(', ')}`, `  ended: ${Object.entries(status.byEndState).map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`].join('\n'),
      );
    });

  campaign
    .command('list')
    .option('--json', 'print JSON')
    .description('List campaigns')
    .action(async (options: Common) => {
      const rows = (await withCampaigns(cli, undefined, (campaigns) => campaigns.list())).map((c) => ({ id: c.id, status: c.status, reason: c.reason, startedAt: isoTime(c.started_at), startedBy: c.started_by, closedAt: isoTime(c.closed_at ?? undefined) }));
      emit(cli, options.json, rows, () => table(rows, ['id', 'status', 'reason', 'startedAt', 'closedAt']));
    });

  campaign
    .command('attest')
    .argument('<id>')
    .argument('<item>', 'the item name')
    .requiredOption('--as <email>', 'the admin attesting (a second, different admin must attest too)')
    .requiredOption('--statement <text>', 'what was done, and how it was checked')
    .option('--json', 'print JSON')
    .description('Attest an owner task; it closes when two different admins have attested')
    .action(async (id: string, item: string, options: Common & { as: string; statement: string }) => {
      const result = await withCampaigns(cli, undefined, (campaigns) => campaigns.attest(id, item, { attester: options.as, statement: options.statement }));
      emit(cli, options.json, result, () => (result.state === 'done' ? `${result.name}: closed on two attestations` : `${result.name}: attested by ${options.as}; a second, different admin must attest`));
    });

  campaign
    .command('close')
    .argument('<id>')
    .option('--json', 'print JSON')
    .description('Close the campaign; refused while any item lacks evidence')
    .action(async (id: string, options: Common) => {
      const closed = await withCampaigns(cli, undefined, (campaigns) => campaigns.close(id, 'cli'));
      emit(cli, options.json, { campaign: closed.id, status: closed.status, closedAt: isoTime(closed.closed_at ?? undefined) }, () => `Closed campaign ${closed.id}`);
    });

  campaign
    .command('report')
    .argument('<id>')
    .option('--format <format>', 'html or json', 'json')
    .option('--out <file>', 'write to a file instead of stdout')
    .description('Every item, who closed it, when, and the evidence')
    .action(async (id: string, options: { format: string; out?: string }) => {
      if (options.format !== 'html' && options.format !== 'json') throw new InputError('--format must be html or json', 'usage');
      const { campaignReportHtml, campaignReportJson } = await import('../credentials/index.js');
      const data = await withCampaigns(cli, undefined, (campaigns) => campaigns.report(id));
      const text = options.format === 'html' ? campaignReportHtml(data) : `${JSON.stringify(campaignReportJson(data), null, 2)}\n`;
      if (options.out === undefined) cli.io.stdout.write(text);
      else {
        await writeFile(resolve(cli.io.cwd, options.out), text, { mode: 0o600 });
        cli.io.stderr.write(`wrote ${options.out}\n`);
      }
    });
}
