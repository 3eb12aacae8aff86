import type { Command } from 'commander';
import type { CliContext } from './cli-context.js';
import type { GatehouseCore } from '../core.js';
import type { ClosedIncidentBlocks, IncidentResponse, IncidentView } from '../incident/index.js';
import { InputError } from '../lib/errors.js';
import { emit, isoTime, table } from './output.js';
import { withCore } from './open-config.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function stderrLogger(cli: CliContext) {
  const write = (object: Record<string, unknown>, message: string) => cli.io.stderr.write(`gatehouse: ${message} ${JSON.stringify(object)}\n`);
  return { info: () => {}, warn: write, error: write };
}

/** The incident service for one CLI command: blocks are written with feed rows, so every running instance applies them. */
export async function withIncidents<T>(cli: CliContext, run: (incidents: IncidentResponse, core: GatehouseCore) => Promise<T>): Promise<T> {
  const [{ IpBlocks }, { createIncidentResponse }, { abuseReportTimeline }] = await Promise.all([import('../access/index.js'), import('../incident/index.js'), import('../reports/index.js')]);
  return withCore(cli, async (core) => {
    const ipBlocks = new IpBlocks(core.store, core.clock, core.audit);
    await ipBlocks.load();
    // A reported lure's takedown (abuse reports drafted, sent, acknowledged) shows on its incident's timeline.
    const incidents = createIncidentResponse({ core, ipBlocks, logger: stderrLogger(cli), timelineSources: [abuseReportTimeline(core.store.db)] });
    try {
      return await run(incidents, core);
    } finally {
      await incidents.dispose();
    }
  });
}

function exitCodeFor(cli: CliContext, view: IncidentView): void {
  // A playbook that could not finish is a refused operation (exit 1): scripts must notice.
  if (view.runState === 'incomplete') cli.setExitCode(1);
}

function closedBlocksText(id: string, blocks: ClosedIncidentBlocks): string[] {
  const listed = [...blocks.domains.map((d) => `  domain ${d}`), ...blocks.ips.map((ip) => `  ip ${ip}`)];
  const strict = blocks.strictNewDomains;
  const lines: string[] = [];
  if (blocks.lifted) {
    lines.push(listed.length ? 'lifted the blocks this incident added:' : 'this incident had no blocks left to lift', ...listed);
    if (strict.switchedOff) lines.push('strict new-domain isolation switched off');
    else if (strict.onByThisIncident) lines.push('strict new-domain isolation stays on: another incident is open (`gatehouse dns strict off` ends it)');
    return lines;
  }
  if (listed.length) lines.push('these blocks this incident added stay in force:', ...listed);
  if (strict.onByThisIncident) lines.push('strict new-domain isolation, turned on by this incident, stays on (`gatehouse dns strict off` ends it)');
  if (lines.length) lines.push(`to lift them: gatehouse incident close ${id} --lift-blocks`);
  return lines;
}

export function registerIncidentCommands(program: Command, cli: CliContext): void {
  const incident = program.command('incident').description('Incident response: one command contains a phishing attack');

  incident
    .command('declare')
    .requiredOption('--title <text>', 'what happened, in a few words')
    .option('--domain <name>', 'lookalike / phishing domain (repeatable); blocked with its subdomains', collect, [])
    .option('--ip <address>', 'attacker address or CIDR (repeatable); blocked at every app and the portal', collect, [])
    .option('--url <url>', 'phishing URL (repeatable); its host is blocked too', collect, [])
    .option('--user <email>', 'user known to be affected (repeatable)', collect, [])
    .option('--token <name>', 'leaked service token (repeatable): revoked first, on every instance', collect, [])
    .option('--credential <id>', 'leaked outside credential, by inventory id or name (repeatable): handed to the campaign', collect, [])
    .option('--campaign [scope]', 'start an emergency rotation campaign over the named tokens and credentials; a scope (system=github,kind=api_token) adds what it matches')
    .option('--all-sessions', "revoke every user's sessions, not only the affected users'")
    .option('--since <duration>', 'hunt window such as 24h or 7d (default incident.hunt_window_hours)')
    .option('--dry-run', 'print what would happen and change nothing')
    .option('--json', 'print JSON')
    .description('Declare an incident and run the containment playbook')
    .action(async (options: { title: string; domain: string[]; ip: string[]; url: string[]; user: string[]; token: string[]; credential: string[]; campaign?: boolean | string; allSessions?: boolean; since?: string; dryRun?: boolean; json?: boolean }) => {
      const campaign = options.campaign === undefined ? {} : { campaign: true, ...(typeof options.campaign === 'string' ? { campaignScope: options.campaign } : {}) };
      const result = await withIncidents(cli, (incidents) =>
        incidents.declare(
          {
            title: options.title,
            domains: options.domain,
            ips: options.ip,
            urls: options.url,
            users: options.user,
            tokens: options.token,
            credentials: options.credential,
            ...campaign,
            allSessions: options.allSessions === true,
            ...(options.since ? { since: options.since } : {}),
          },
          { actor: 'cli', dryRun: options.dryRun === true },
        ),
      );
      if ('dryRun' in result) {
        emit(cli, options.json, result, () =>
          [`DRY RUN (nothing changed): ${result.title}`, ...result.steps.map((s) => `  ${s.step.padEnd(19)} would ${s.would}`), '', 'users:', ...result.users.map((u) => `  ${u.email}  ${u.sources.join(', ')}${u.hasKey ? '' : '  (no key: new enrollment link)'}`), '', 'warning email:', result.warning.subject, result.warning.text].join('\n'),
        );
        return;
      }
      const { timelineText } = await import('../incident/index.js');
      emit(cli, options.json, result.incident, () => timelineText(result.incident));
      exitCodeFor(cli, result.incident);
    });

  incident
    .command('resume')
    .argument('<id>', 'incident id')
    .option('--takeover', 'take the lease from its holder: for a runner that died on another host (one that died on this host is detected)')
    .option('--json', 'print JSON')
    .description('Run the steps of an incident playbook that are not done yet (after a crash or a failed step)')
    .action(async (id: string, options: { takeover?: boolean; json?: boolean }) => {
      const result = await withIncidents(cli, (incidents) => incidents.resume(id, { actor: 'cli', takeover: options.takeover === true }));
      const { timelineText } = await import('../incident/index.js');
      emit(cli, options.json, result.incident, () => timelineText(result.incident));
      exitCodeFor(cli, result.incident);
    });

  incident
    .command('list')
    .option('--status <status>', 'open or closed')
    .option('--json', 'print JSON')
    .description('List incidents, newest first')
    .action(async (options: { status?: string; json?: boolean }) => {
      if (options.status !== undefined && options.status !== 'open' && options.status !== 'closed') throw new InputError('--status must be open or closed', 'usage');
      const status = options.status as 'open' | 'closed' | undefined;
      const rows = await withIncidents(cli, (incidents) => incidents.list(status ? { status } : {}));
      emit(cli, options.json, rows, () =>
        table(
          rows.map((r) => ({ id: r.id, declared: isoTime(r.declaredAt), status: r.status, playbook: r.runState, title: r.title })),
          ['id', 'declared', 'status', 'playbook', 'title'],
        ),
      );
    });

  incident
    .command('show')
    .argument('<id>', 'incident id')
    .option('--json', 'print JSON (timeline, users, notifications, STIX bundle)')
    .option('--stix', 'print only the STIX 2.1 bundle (JSON)')
    .description('Show an incident and its timeline')
    .action(async (id: string, options: { json?: boolean; stix?: boolean }) => {
      const view = await withIncidents(cli, (incidents) => incidents.show(id));
      if (options.stix) {
        cli.io.stdout.write(`${JSON.stringify(view.stix ?? null, null, 2)}\n`);
        return;
      }
      const { timelineText } = await import('../incident/index.js');
      emit(cli, options.json, view, () => timelineText(view));
    });

  incident
    .command('close')
    .argument('<id>', 'incident id')
    .option('--note <text>', 'closing note (recorded in the audit log)')
    .option('--lift-blocks', "also lift (or, on a closed incident, lift) the domain and IP blocks this incident added (not blocks added otherwise), and strict new-domain isolation if it turned that on and no other incident is open")
    .option('--json', 'print JSON')
    .description('Close an incident; says which of its blocks stay in force, or lifts them with --lift-blocks')
    .action(async (id: string, options: { note?: string; liftBlocks?: boolean; json?: boolean }) => {
      const view = await withIncidents(cli, (incidents) =>
        incidents.close(id, { actor: 'cli', ...(options.note ? { note: options.note } : {}), liftBlocks: options.liftBlocks === true }),
      );
      emit(cli, options.json, view, () => [`incident ${view.id} closed`, ...closedBlocksText(view.id, view.blocks)].join('\n'));
    });
}
