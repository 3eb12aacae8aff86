import type { Command } from 'commander';
import type { GatehouseCore } from '../core.js';
import type { Reports } from '../reports/index.js';
import type { CliContext } from './cli-context.js';
import { emit, isoTime, table } from './output.js';
import { withCore } from './open-config.js';

/** Reports over the core's store with the same verdicts and runtime blocks as the server. */
async function withReports<T>(cli: CliContext, run: (reports: Reports, core: GatehouseCore) => Promise<T>): Promise<T> {
  return withCore(cli, async (core) => {
    const [{ createReports }, { domainBlocksOf }, { buildDomainIntel }] = await Promise.all([import('../reports/index.js'), import('../dns/index.js'), import('../intel/index.js')]);
    const config = core.snapshot().config;
    const intel = buildDomainIntel({ dns: config.dns, store: core.store, clock: core.clock });
    try {
      const reports = createReports({
        db: core.store.db,
        audit: core.audit,
        clock: core.clock,
        random: core.random,
        verdicts: intel.classifier,
        domainBlocks: domainBlocksOf(core),
        settings: () => ({ reports: config.reports, organisation: config.portal.organisation, protectedDomains: [...(config.dns.protect?.domains ?? []), config.server.portal_host] }),
      });
      return await run(reports, core);
    } finally {
      await intel.stop();
    }
  });
}

async function readStdin(cli: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of cli.io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export function registerReportCommands(program: Command, cli: CliContext): void {
  const report = program.command('report').description('Reports of suspicious messages: groups, escalation, dismissal');

  report
    .command('list')
    .option('--status <status>', 'open, escalated or dismissed')
    .option('--json', 'print JSON')
    .description('Report groups (one per lure domain), newest first')
    .action(async (options: { status?: 'open' | 'escalated' | 'dismissed'; json?: boolean }) => {
      const groups = await withReports(cli, (reports) => reports.groups(options.status ? { status: options.status } : {}));
      emit(cli, options.json, { groups }, () =>
        table(
          groups.map((g) => ({ group: g.id, domain: g.domain, status: g.status, reports: g.reports, reporters: g.reporters, first_seen: isoTime(g.firstSeenAt), escalated: isoTime(g.escalatedAt ?? undefined) })),
          ['group', 'domain', 'status', 'reports', 'reporters', 'first_seen', 'escalated'],
        ),
      );
    });

  report
    .command('show')
    .argument('<group>')
    .option('--json', 'print JSON')
    .description('A group: its reports, the verdicts and the drafted incident')
    .action(async (groupId: string, options: { json?: boolean }) => {
      const shown = await withReports(cli, async (reports) => {
        const { group, reports: received } = await reports.show(groupId);
        const messages = (await reports.repository.messages({ groupId })).map((m) => ({ kind: m.kind, recipient: m.recipient, status: m.status, sentAt: m.sent_at === null ? null : Number(m.sent_at), error: m.last_error }));
        return { group, reports: received, messages };
      });
      emit(cli, options.json, shown, () => {
        const { group, reports } = shown;
        const lines = [`${group.id}  ${group.domain}  ${group.status}  ${group.reports} report(s) from ${group.reporters} identified reporter(s)`];
        if (group.escalationReason) lines.push(`escalated ${isoTime(group.escalatedAt ?? undefined)} by ${group.escalatedBy}: ${group.escalationReason}`);
        if (group.incidentDraft) lines.push(`drafted incident: ${String(group.incidentDraft.declare)}`);
        for (const m of shown.messages) lines.push(`message: ${m.kind} to ${m.recipient}: ${m.status}${m.error ? ` (${m.error})` : ''}`);
        for (const r of reports) {
          // The lure is hostile text: control characters are dropped so it cannot drive the terminal.
          const text = r.body.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').slice(0, 500);
          lines.push('', `${r.id}  ${isoTime(r.receivedAt)}  ${r.source}  ${r.reporter ?? 'anonymous'}  ${r.verdict}`, ...r.indicators.map((i) => `  ${i.domain}: ${i.reason}${i.shortened ? ' (shortened link)' : ''}`), `  | ${text.split('\n').join('\n  | ')}`);
        }
        return lines.join('\n');
      });
    });

  report
    .command('escalate')
    .argument('<group>')
    .option('--json', 'print JSON')
    .description('Block the lure domain on every instance and draft the incident (never an own, protected or never-block domain)')
    .action(async (groupId: string, options: { json?: boolean }) => {
      const group = await withReports(cli, (reports) => reports.escalate(groupId, 'cli'));
      emit(cli, options.json, group, () => `${group.domain}: ${group.status}; declare with: ${String(group.incidentDraft?.declare ?? '-')}`);
    });

  report
    .command('dismiss')
    .argument('<group>')
    .option('--json', 'print JSON')
    .description('Close a group as harmless (its reporters were already thanked)')
    .action(async (groupId: string, options: { json?: boolean }) => {
      const group = await withReports(cli, (reports) => reports.dismiss(groupId, 'cli'));
      emit(cli, options.json, group, () => `${group.domain}: ${group.status}`);
    });

  report
    .command('abuse')
    .argument('<group>')
    .option('--to <email>', 'an abuse contact to add to (or use instead of) the RDAP ones (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--no-rdap', "do not ask RDAP for the registrar's and the host's abuse contacts (nor resolve the lure)")
    .option('--send', "send the group's drafted abuse reports (the server's outbox delivers them through incident.smtp)")
    .option('--acknowledged <email>', "record that this abuse desk acknowledged the report sent to it (shown on the declared incident's timeline)")
    .option('--note <text>', 'with --acknowledged: what the desk said (a ticket number)')
    .option('--json', 'print JSON')
    .description("Takedown help: the registrar's and the hosting network's abuse contacts from RDAP (domain and IP) and a prepared abuse report, drafted; --send sends the drafts")
    .action(async (groupId: string, options: { to: string[]; rdap: boolean; send?: boolean; acknowledged?: string; note?: string; json?: boolean }) => {
      if (options.acknowledged !== undefined) {
        const recipient = options.acknowledged;
        await withReports(cli, (reports) => reports.acknowledgeAbuseReport(groupId, recipient, 'cli', options.note));
        emit(cli, options.json, { acknowledged: recipient.toLowerCase() }, () => `abuse report to ${recipient.toLowerCase()} marked acknowledged`);
        return;
      }
      const result = await withReports(cli, async (reports, core) => {
        if (options.send) return { sent: await reports.sendAbuseReports(groupId, 'cli') };
        const { group } = await reports.show(groupId);
        const { createLureResolver, lookupAbuseContacts, lookupHostAbuseContacts, shippedIpRdapBootstrap } = await import('../reports/index.js');
        const dns = core.snapshot().config.dns;
        const looked = options.rdap ? await lookupAbuseContacts(group.domain, { rdapOverrides: dns.age.rdap_overrides, timeoutMs: 10_000 }) : { contacts: [], source: 'none' };
        // The host: the lure's addresses through the gateway's upstreams (never through its own blocks), then IP RDAP.
        const host = options.rdap ? await lookupHostAbuseContacts(group.domain, { resolve: createLureResolver({ servers: dns.upstreams }), bootstrap: shippedIpRdapBootstrap(), timeoutMs: 10_000 }) : undefined;
        const contacts = [...('contacts' in looked ? looked.contacts : []), ...(host?.contacts ?? []), ...options.to.map((email) => ({ role: 'given', email: email.toLowerCase() }))];
        const drafted = await reports.draftAbuseReports(groupId, contacts, 'cli', { addresses: host?.addresses ?? [] });
        return {
          domain: group.domain,
          contacts,
          drafted,
          addresses: host?.addresses ?? [],
          ...('error' in looked ? { rdapError: looked.error } : {}),
          hostErrors: (host?.sources ?? []).filter((s) => s.error).map((s) => `${s.address}: ${s.error}`),
        };
      });
      emit(cli, options.json, result, () =>
        'sent' in result
          ? `${result.sent} abuse report(s) queued for sending`
          : [
              `${result.domain}: ${result.drafted} abuse report(s) drafted`,
              ...(result.addresses.length > 0 ? [`  resolves to: ${result.addresses.join(' ')}`] : []),
              ...result.contacts.map((c) => `  ${c.role}: ${c.email}${'network' in c && c.network ? ` (${c.network}, ${'address' in c ? c.address : ''})` : ''}`),
              ...(result.rdapError ? [`  registrar RDAP: ${result.rdapError}`] : []),
              ...result.hostErrors.map((e) => `  host RDAP: ${e}`),
              `review with \`gatehouse report show ${groupId}\`, send with \`gatehouse report abuse ${groupId} --send\``,
            ].join('\n'),
      );
    });

  report
    .command('submit')
    .option('--as <email>', 'the reporter (a directory user); default anonymous')
    .option('--json', 'print JSON')
    .description('Report the text on standard input (a pasted message or a forwarded mail), as the portal does')
    .action(async (options: { as?: string; json?: boolean }) => {
      const body = await readStdin(cli);
      const outcome = await withReports(cli, async (reports, core) => {
        if (options.as && !(await core.identity.users.findByEmail(options.as))) {
          const { InputError } = await import('../lib/errors.js');
          throw new InputError(`${options.as} is not a user`, 'report_unknown_reporter');
        }
        return reports.submit({ source: 'cli', ...(options.as ? { reporter: options.as.toLowerCase() } : {}), body });
      });
      emit(cli, options.json, outcome, () =>
        [`report ${outcome.reportId}${outcome.groupId ? ` in group ${outcome.groupId}` : ''}: ${outcome.harmless ? 'looks harmless' : 'suspicious'}${outcome.escalated ? '; escalated (blocked, incident drafted)' : ''}`, ...outcome.indicators.map((i) => `  ${i.domain}: ${i.reason}`)].join('\n'),
      );
    });
}
