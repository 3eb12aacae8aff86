import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Campaigns, RotationTarget, Rotator } from '../credentials/index.js';
import type { GatehouseCore } from '../core.js';
import { GatehouseError, InputError } from '../lib/errors.js';
import type { CliContext } from './cli-context.js';
import { jsonStyle } from './json-style.js';
import { emit, isoTime, table } from './output.js';
import { ownerTaskEmailNotifier } from './campaign-notifier.js';
import { loadSnapshot, withCore } from './open-config.js';
import { parseDuration } from './token-commands.js';

interface Common {
  json?: boolean;
}

/**
 * A secret sink for the CLI: one file per credential, mode 0600, in a directory the operator names.
 * The campaign never stores a new secret; this file is the one place it goes. Written as every secret
 * file is (writeSecretFile): a fresh O_EXCL 0600 file, fsynced, renamed over the target, the directory
 * fsynced; a symlink (or anything but a regular file) planted at the target name is refused with
 * `secret_target_not_a_file` and what it points to is never written.
 *
 * An emergency rotation kills the old secret before the new one is written, so a refused write would
 * leave the service with a dead secret and the new one lost. Two defences, in order:
 * - `check` runs before the token is rotated (checkSecretTarget: the folder exists or is made, is a
 *   folder, takes a new file; the name is not a symlink or other non-regular file). A planted link or a
 *   read-only folder fails the item with its code while the old secret still works.
 * - A write that fails anyway (the link planted between the check and the write, a full disk) prints
 *   the secret once to the operator's terminal with a warning, as `tokens create` and `tokens rotate`
 *   print a new secret once: the campaign has no sealed staging of its own for Gatehouse's tokens (a
 *   write-ahead exists only for configured rotators' sinks), and a staging file in the same folder would
 *   fail the same way. Only a terminal: stderr piped to a file or a log collector is where a secret
 *   must not go, so there the secret is dropped and the item fails saying so; `campaign resume` retries
 *   the failed item and issues a fresh secret (Gatehouse is the issuer: a lost secret of its own token
 *   costs an outage until the resume, never the credential).
 */
function fileSink(cli: CliContext, dir: string) {
  const root = resolve(cli.io.cwd, dir);
  const pathOf = (target: RotationTarget) => join(root, `${(target.locator.token ?? target.itemId).replace(/[^A-Za-z0-9_.-]/g, '_')}.secret`);
  const stderr = cli.io.stderr as { write(text: string): unknown; isTTY?: boolean };
  return {
    async check(target: RotationTarget): Promise<void> {
      const { checkSecretTarget } = await import('../credentials/index.js');
      await checkSecretTarget(pathOf(target));
    },
    async deliver(target: RotationTarget, secret: Buffer): Promise<string> {
      const { writeSecretFile } = await import('../credentials/index.js');
      const path = pathOf(target);
      try {
        await writeSecretFile(path, secret);
      } catch (error) {
        const reason = error instanceof GatehouseError ? `${error.code}: ${error.detail ?? error.message}` : `${(error as NodeJS.ErrnoException).code ?? 'error'}`;
        const name = target.locator.token ?? target.itemId;
        if (stderr.isTTY === true) {
          stderr.write(
            `\nWARNING: ${name} was rotated (after an emergency rotation its old secret no longer works) but the new secret could not be written to ${path} (${reason}).\n` +
              `It is shown only now, here, and is kept nowhere else: give it to the service by hand.\n${secret.toString('utf8')}\n`,
          );
        }
        throw new GatehouseError(error instanceof GatehouseError ? error.code : 'deliver_dir_write_failed', {
          status: 500,
          publicMessage: 'The secret could not be delivered.',
          detail: `${path} could not be written (${reason}) after the rotation; ${stderr.isTTY === true ? 'the new secret was shown once on the terminal' : 'the new secret was not kept (stderr is not a terminal): fix the folder and run `gatehouse campaign resume` to issue and deliver another'}`,
        });
      }
      return `file:${path}`;
    },
  };
}

/**
 * Before a campaign run writes any secret file: removes the temporary files a crashed run left in the
 * folders this run writes to (each holds a live secret), saying so on stderr and in the audit log
 * (`campaign.stale_secret_files_removed`, file names and pids, never contents). Files of a process
 * that is still alive are left and named.
 */
async function sweepSecretDirectories(cli: CliContext, core: GatehouseCore, deliverDir: string | undefined): Promise<void> {
  const { secretDirectoriesOfRotators, sweepStaleSecretTemporaries } = await import('../credentials/index.js');
  const snapshot = core.snapshot();
  const dirs = [...(deliverDir === undefined ? [] : [resolve(cli.io.cwd, deliverDir)]), ...secretDirectoriesOfRotators(snapshot.config.rotators, snapshot.baseDir)];
  for (const dir of new Set(dirs)) {
    const sweep = await sweepStaleSecretTemporaries(dir);
    if (sweep.removed.length > 0) {
      await core.audit.record({ type: 'campaign.stale_secret_files_removed', outcome: 'success', actor: 'cli', detail: { dir, files: sweep.removed.map((r) => r.file), pids: [...new Set(sweep.removed.map((r) => r.pid))] } });
      cli.io.stderr.write(`Removed ${sweep.removed.length} temporary secret file(s) left in ${dir} by a run that crashed: ${sweep.removed.map((r) => r.file).join(', ')}\n`);
    }
    if (sweep.leftToLiveProcesses.length > 0) {
      cli.io.stderr.write(`Left ${sweep.leftToLiveProcesses.length} temporary secret file(s) in ${dir}: their process is still running (${sweep.leftToLiveProcesses.map((r) => `${r.file}, pid ${r.pid}`).join('; ')})\n`);
    }
  }
}

/**
 * The rotators the CLI can reach: the `rotators:` section of the config file, each with its own sink
 * (where the service using the credential reads it, and where the old secret is read for the probe).
 * `--deliver-dir` does not override those sinks: it is where Gatehouse's own service-token secrets go.
 * `campaign start` refuses items naming a rotator not configured here unless `--allow-invalid-targets`
 * is given; they then become owner tasks (closed only on evidence).
 */
async function cliRotators(core: GatehouseCore): Promise<ReadonlyMap<string, Rotator>> {
  const { rotatorsFromConfig } = await import('../credentials/index.js');
  const snapshot = core.snapshot();
  return rotatorsFromConfig({ rotators: snapshot.config.rotators, baseDir: snapshot.baseDir, random: core.random });
}

/** A run writes secrets (`campaign start`, `resume`): its sink folders are swept first. Read-only commands pass undefined. */
interface CampaignRun {
  deliverDir: string | undefined;
}

async function withCampaigns<T>(cli: CliContext, writing: CampaignRun | undefined, run: (campaigns: Campaigns, core: GatehouseCore) => Promise<T>): Promise<T> {
  const { createCampaigns, createServiceTokens, serviceTokenSettingsOf } = await import('../credentials/index.js');
  return withCore(cli, async (core) => {
    const tokens = createServiceTokens({ store: core.store, clock: core.clock, random: core.random, audit: core.audit, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) });
    // The verifier snapshot is what a token item's probe presents the new secret to.
    await tokens.load();
    if (writing) await sweepSecretDirectories(cli, core, writing.deliverDir);
    const deliverDir = writing?.deliverDir;
    const mail = await ownerTaskEmailNotifier(core);
    try {
      const sink = deliverDir === undefined ? undefined : fileSink(cli, deliverDir);
      const campaigns = createCampaigns({
        store: core.store,
        clock: core.clock,
        random: core.random,
        audit: core.audit,
        tokens,
        rotators: await cliRotators(core),
        deliverSecret: sink?.deliver,
        checkDelivery: sink?.check,
        notifyOwnerTask: mail.notify,
      });
      return await run(campaigns, core);
    } finally {
      mail.close();
    }
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

async function printRun(cli: CliContext, json: boolean | undefined, id: string, result: Awaited<ReturnType<Campaigns['run']>>, extra: Record<string, unknown> = {}) {
  // A link that reached its owner is not printed. One that did not (no incident.smtp, an owner that is
  // not an address, a failed send) is, for the operator to pass on: it works only for the owner,
  // signed in with a key, so the operator holding it cannot answer the task themselves.
  const [{ portalUrlOf }, { ownerTaskPath }] = await Promise.all([import('../core.js'), import('../credentials/index.js')]);
  const portal = portalUrlOf(loadSnapshot(cli).config);
  const ownerTasks = result.ownerTasks.map(({ linkToken, ...t }) => ({ ...t, link: linkToken === undefined ? undefined : `${portal}${ownerTaskPath(linkToken)}` }));
  const heldByOthers = result.heldByOthers.map((h) => ({ ...h, until: isoTime(h.until) }));
  emit(cli, json, { campaign: id, ...extra, ...result, ownerTasks, heldByOthers, approvalUrl: `${portal}/campaigns/${id}/approvals` }, () =>
    [
      `Campaign ${id}: ${Object.entries(result.counts).map(([state, n]) => `${n} ${state}`).join(', ')}`,
      ...ownerTasks.map((t) => (t.link === undefined ? `  owner task for ${t.item} (${t.owner}): link sent by ${t.notifiedVia}` : `  owner task for ${t.item} (${t.owner}): NOT sent (${t.notNotified}); give the owner this one-time link: ${t.link}`)),
      ...(ownerTasks.length > 0 ? [`  approvals (a signed-in admin other than the owner): ${portal}/campaigns/${id}/approvals`] : []),
      ...result.heldByOthers.map((h) => `  ${h.item}: still held by ${h.holder} until ${isoTime(h.until)}; run \`gatehouse campaign resume ${id}\` after that if it is not finished`),
    ].join('\n'),
  );
}

/**
 * `campaign report --out`: the report names every credential in scope, where new secrets were delivered
 * and what is still open (a map of the incident for whoever reads it), so it is 0600. Threat: someone
 * who can write to the folder plants a symlink at the report's name (the operator's usual path, say)
 * to have the report written over another file, such as an authorized_keys or a config the link points
 * to. So it is written as secret files are (writeSecretFile): a fresh O_EXCL temporary, renamed over
 * the name, never written through it; a symlink or anything but a regular file there is refused with
 * `report_target_not_a_file` and left alone, as is what it points to.
 */
async function writeReportFile(path: string, text: string): Promise<void> {
  const { SECRET_TARGET_NOT_A_FILE, writeSecretFile } = await import('../credentials/index.js');
  try {
    await writeSecretFile(path, Buffer.from(text, 'utf8'));
  } catch (error) {
    if (error instanceof GatehouseError && error.code === SECRET_TARGET_NOT_A_FILE) {
      throw new GatehouseError('report_target_not_a_file', { status: 409, publicMessage: `${path} is a symbolic link or not a regular file: refusing to write the report there (remove it, or give another --out)` });
    }
    throw error;
  }
}

export function registerCampaignCommands(program: Command, cli: CliContext): void {
  const campaign = program.command('campaign').description('Rotation campaigns: rotate every credential in scope, each closed only on evidence');

  campaign
    .command('start')
    .requiredOption('--reason <text>', 'why (e.g. "vendor breach")')
    .option('--scope <filter>', 'kind=…,system=…,owner=… (a key given twice means either value)')
    .option('--emergency', 'rotate Gatehouse service tokens with no overlap: old secrets fail at once')
    .option('--overlap <duration>', 'how long old service-token secrets keep working (default 24h)')
    .option('--deliver-dir <dir>', 'directory new service-token secrets are written to (one 0600 file each); configured rotators use their own sinks')
    .option('--allow-invalid-targets', 'start even when items name an unconfigured rotator or a bad locator (they become owner tasks or failed items)')
    .option('--no-run', 'only snapshot the credentials; run with `campaign resume`')
    .option('--json', 'print JSON')
    .description('Snapshot every credential in scope and rotate them')
    .action(async (options: Common & { reason: string; scope?: string; emergency?: boolean; overlap?: string; deliverDir?: string; allowInvalidTargets?: boolean; run: boolean }) => {
      if (options.emergency && options.overlap !== undefined) throw new InputError('give at most one of --emergency and --overlap', 'usage');
      const overlapMs = options.overlap === undefined ? undefined : parseDuration('--overlap', options.overlap);
      const { parseCampaignScope } = await import('../credentials/index.js');
      const scope = parseCampaignScope(options.scope);
      await withCampaigns(cli, { deliverDir: options.deliverDir }, async (campaigns) => {
        const started = await campaigns.start({ reason: options.reason, scope, emergency: options.emergency === true, overlapMs, actor: 'cli', refuseInvalidTargets: options.allowInvalidTargets !== true });
        cli.io.stderr.write(`campaign ${started.campaign.id}: ${started.items} credential(s) in scope\n`);
        for (const p of started.problems) cli.io.stderr.write(`  warning: ${p.item}: ${p.problem}\n`);
        if (!options.run) return emit(cli, options.json, { campaign: started.campaign.id, items: started.items }, () => started.campaign.id);
        await printRun(cli, options.json, started.campaign.id, await runWithProgress(cli, campaigns, started.campaign.id, false), { items: started.items });
      });
    });

  campaign
    .command('resume')
    .argument('<id>')
    .option('--deliver-dir <dir>', 'directory new service-token secrets are written to (one 0600 file each); configured rotators use their own sinks')
    .option('--json', 'print JSON')
    .description('Continue a campaign after a crash or a fix: re-runs abandoned and failed items, finishes ended overlaps')
    .action(async (id: string, options: Common & { deliverDir?: string }) => {
      await withCampaigns(cli, { deliverDir: options.deliverDir }, async (campaigns) => printRun(cli, options.json, id, await runWithProgress(cli, campaigns, id, true)));
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

  // The CLI records no attestation: it cannot tell who runs it, and a flag naming a person let one
  // operator be two. It says who has attested and where a signed-in admin approves.
  campaign
    .command('attest')
    .argument('<id>')
    .option('--json', 'print JSON')
    .description('Show open owner tasks, who has attested, and the portal page where an admin approves them')
    .action(async (id: string, options: Common) => {
      const tasks = await withCampaigns(cli, undefined, (campaigns) => campaigns.awaitingApproval(id));
      const { portalUrlOf } = await import('../core.js');
      const approveAt = `${portalUrlOf(loadSnapshot(cli).config)}/campaigns/${id}/approvals`;
      const rows = tasks.map((t) => ({ item: t.item.name, owner: t.item.owner, believedUnused: t.item.believedUnused, attestedBy: t.attesters }));
      emit(cli, options.json, { campaign: id, approvalUrl: approveAt, tasks: rows }, () =>
        [table(rows, ['item', 'owner', 'attestedBy']), '', `Owners answer through their one-time link; a different admin, signed in with a security key, approves at:`, `  ${approveAt}`].join('\n'),
      );
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
    .option('--json', 'print JSON (the same as --format json)')
    .option('--out <file>', 'write to a file instead of stdout')
    .description('Every item, who closed it, when, and the evidence')
    .action(async (id: string, options: { format: string; json?: boolean; out?: string }) => {
      if (options.format !== 'html' && options.format !== 'json') throw new InputError('--format must be html or json', 'usage');
      if (options.json && options.format === 'html') throw new InputError('--json and --format html: give one', 'usage');
      const { campaignReportHtml, campaignReportJson } = await import('../credentials/index.js');
      const data = await withCampaigns(cli, undefined, (campaigns) => campaigns.report(id));
      const text = options.format === 'html' ? campaignReportHtml(data) : `${JSON.stringify(jsonStyle(campaignReportJson(data)), null, 2)}\n`;
      if (options.out === undefined) cli.io.stdout.write(text);
      else {
        await writeReportFile(resolve(cli.io.cwd, options.out), text);
        cli.io.stderr.write(`wrote ${options.out}\n`);
      }
    });
}
