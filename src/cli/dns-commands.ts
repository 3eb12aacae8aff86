import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { CliContext } from './cli-context.js';
import { systemClock } from '../lib/clock.js';
import { InputError } from '../lib/errors.js';
import { cryptoRandom } from '../lib/random.js';
import { emit, isoTime, jsonLine, table } from './output.js';
import { loadSnapshot, withCore } from './open-config.js';

async function namesFrom(cli: CliContext, args: string[]): Promise<string[]> {
  if (args.length > 0) return args;
  if (cli.io.stdin.isTTY) throw new InputError('give names as arguments or one per line on standard input', 'usage');
  const names: string[] = [];
  for await (const line of createInterface({ input: cli.io.stdin })) {
    const name = line.trim();
    if (name && !name.startsWith('#')) names.push(name);
  }
  return names;
}

// RFC 1035 §2.3.1 / RFC 1123 §2.1 host names, with Unicode letters allowed: a lookalike in another
// script (IDNA U-labels) is exactly what `domain check` is for.
const LABEL = /^[\p{L}\p{N}_](?:[\p{L}\p{N}\p{M}_-]{0,61}[\p{L}\p{N}\p{M}_])?$/u;

/** Why a name is not a domain name, or undefined when it is one. */
export function domainNameProblem(name: string): string | undefined {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0) return 'it is empty';
  if (bare.length > 253) return 'it is longer than 253 characters';
  if (/\s/u.test(bare)) return 'it contains a space';
  const bad = [...bare].find((c) => !/[\p{L}\p{N}\p{M}._-]/u.test(c));
  if (bad !== undefined) return `it contains ${JSON.stringify(bad)}, which no domain name does`;
  const label = bare.split('.').find((l) => !LABEL.test(l));
  if (label !== undefined) return label === '' ? 'it has an empty label (two dots in a row, or a leading dot)' : `its label ${JSON.stringify(label.slice(0, 70))} is longer than 63 characters or starts or ends with a hyphen`;
  return undefined;
}

function refuseMalformed(names: readonly string[]): void {
  const problems = names.flatMap((name) => {
    const problem = domainNameProblem(name);
    return problem === undefined ? [] : [`${JSON.stringify(name.slice(0, 80))} is not a domain name: ${problem}`];
  });
  if (problems.length > 0) throw new InputError(problems.join('; '), 'usage');
}

function strictLine(strict: { on: boolean; since: string | null; by: string | null; incident: string | null }): string {
  const since = strict.since ? ` since ${strict.since}` : '';
  const by = strict.incident ? ` (turned on by incident ${strict.incident})` : strict.by ? ` (by ${strict.by})` : '';
  const hint = strict.on ? '; young domains are blocked, not warned; `gatehouse dns strict off` ends it' : '';
  return `strict new-domain isolation: ${strict.on ? 'on' : 'off'}${since}${by}${hint}`;
}

export function registerDnsCommands(program: Command, cli: CliContext): void {
  const domain = program.command('domain').description('Domain verdicts and runtime blocks');

  domain
    .command('check')
    .argument('[names...]', 'names to check (default: one per line on standard input)')
    .option('--offline', 'lexical checks only: no registration-date look-ups')
    .option('--json', 'print JSON lines')
    .description("Check names against the config's dns.protect brands and the domain-age rules")
    .action(async (args: string[], options: { offline?: boolean; json?: boolean }) => {
      const { config } = loadSnapshot(cli);
      const names = await namesFrom(cli, args);
      refuseMalformed(names);
      // Age look-ups are cached per process here: the CLI does not need the shared store for a check.
      const { buildDomainIntel } = await import('../intel/index.js');
      const intel = buildDomainIntel({ dns: config.dns, clock: systemClock, offline: Boolean(options.offline) });
      let flagged = 0;
      try {
        for (const name of names) {
          let line: string;
          try {
            const verdict = await intel.classifier.classify(name);
            if (verdict.action !== 'allow') flagged++;
            line = options.json
              ? jsonLine(verdict)
              : `${verdict.action.toUpperCase().padEnd(5)} ${verdict.name}  ${verdict.humanReason}${verdict.reasons.length ? `  [${verdict.reasons.map((r) => r.code).join(', ')}]` : ''}`;
          } catch (error) {
            line = options.json ? jsonLine({ name, error: (error as Error).message }) : `ERROR ${name}  ${(error as Error).message}`;
          }
          cli.io.stdout.write(`${line}\n`);
        }
      } finally {
        await intel.stop();
      }
      if (!options.json) cli.io.stderr.write(`${names.length} checked, ${flagged} flagged\n`);
      // Without a protected brand only the age rules run: an "allow" here says nothing about lookalikes.
      if (!config.dns.protect || (config.dns.protect.brands.length === 0 && config.dns.protect.domains.length === 0)) {
        cli.io.stderr.write('note: no protected brand is configured, so no name was checked for lookalikes; add yours under dns.protect (brands: [acme], domains: [acme.com]) in the config (docs/configuration.md)\n');
      }
    });

  domain
    .command('block')
    .argument('<names...>')
    .requiredOption('--reason <text>', 'why (kept in `dns lists` and the audit log; DNS clients and the block page see a generic text)')
    .option('--json', 'print JSON')
    .description('Block names and their subdomains on every instance, at once')
    .action(async (names: string[], options: { reason: string; json?: boolean }) => {
      const { domainBlocksOf } = await import('../dns/index.js');
      // Never the portal's own host, a protected or a never-block domain: DomainBlocks refuses them.
      const added = await withCore(cli, (core) => domainBlocksOf(core).block(names, { reason: options.reason, actor: 'cli' }));
      emit(cli, options.json, { blocked: added }, () => `blocked ${added.length} new name(s)`);
    });

  domain
    .command('unblock')
    .argument('<names...>')
    .option('--json', 'print JSON')
    .description('Lift runtime blocks')
    .action(async (names: string[], options: { json?: boolean }) => {
      const { domainBlocksOf } = await import('../dns/index.js');
      const removed = await withCore(cli, (core) => domainBlocksOf(core).unblock(names, 'cli'));
      emit(cli, options.json, { unblocked: removed }, () => `unblocked ${removed} name(s)`);
    });

  const dns = program.command('dns').description('The DNS gateway');
  dns
    .command('lists')
    .option('--json', 'print JSON')
    .description("Each blocklist source and the runtime blocks, as configured and stored")
    .action(async (options: { json?: boolean }) => {
      const { domainBlocksOf } = await import('../dns/index.js');
      const data = await withCore(cli, async (core) => {
        const { config } = core.snapshot();
        const domainBlocks = domainBlocksOf(core);
        const [blocks, strict] = await Promise.all([domainBlocks.list(), domainBlocks.strictNewDomainsState()]);
        return {
          enabled: config.dns.enabled,
          strictNewDomains: { on: strict.on, since: strict.since === undefined ? null : isoTime(strict.since), by: strict.by ?? null, incident: strict.incident ?? null },
          sources: config.dns.blocklists.map((l) => ({ name: l.name, source: l.path ?? l.url, format: l.format, refreshSeconds: l.refresh_interval_s })),
          runtimeBlocks: blocks.map((b) => ({ name: b.name, reason: b.reason, since: isoTime(b.createdAt), by: b.createdBy ?? null })),
          allowlist: config.dns.allowlist.length,
        };
      });
      emit(cli, options.json, data, () =>
        [
          `DNS gateway ${data.enabled ? 'enabled' : 'disabled'}; allowlist entries: ${data.allowlist}`,
          strictLine(data.strictNewDomains),
          '',
          'blocklist sources (entry counts and load state: /metrics gatehouse_dns_*):',
          table(data.sources, ['name', 'format', 'source', 'refreshSeconds']),
          '',
          'runtime blocks:',
          table(data.runtimeBlocks, ['name', 'reason', 'since', 'by']),
        ].join('\n'),
      );
    });
  dns
    .command('strict')
    .argument('<state>', 'on or off')
    .description('Switch strict new-domain isolation (young domains blocked instead of warned) on or off, on every instance; audited')
    .action(async (state: string) => {
      if (state !== 'on' && state !== 'off') throw new InputError('dns strict takes on or off', 'usage');
      const { domainBlocksOf } = await import('../dns/index.js');
      const after = await withCore(cli, async (core) => {
        const blocks = domainBlocksOf(core);
        await blocks.setStrictNewDomains(state === 'on', 'cli');
        return blocks.strictNewDomainsState();
      });
      cli.io.stdout.write(`strict new-domain isolation is ${after.on ? 'on' : 'off'}\n`);
    });
  dns
    .command('token')
    .argument('<user>', 'email or id')
    .option('--json', 'print JSON')
    .description('Print a personal DNS-over-HTTPS URL for a user (queries through it are logged with the user)')
    .action(async (who: string, options: { json?: boolean }) => {
      const [{ DohTokens }, { portalUrlOf }] = await Promise.all([import('../dns/index.js'), import('../core.js')]);
      const url = await withCore(cli, async (core) => {
        const user = await core.identity.users.require(who);
        const token = await new DohTokens(core.store, core.clock, cryptoRandom).issue(user.id);
        const { config } = core.snapshot();
        return { email: user.email, url: `${portalUrlOf(config)}${config.dns.doh_path}/${token}` };
      });
      emit(cli, options.json, url, () => url.url);
      // RFC 8484 §5: DoH is HTTPS only; browsers and phones refuse an http:// template outright.
      if (!url.url.startsWith('https://')) {
        cli.io.stderr.write(
          'note: this URL is plain http, and DNS-over-HTTPS clients accept only https URLs. Serve the portal over TLS (server.https) or put a TLS reverse proxy in front of it and set server.public_url to its https:// address; the same command then prints an https URL (docs/operations.md, "Personal DoH URLs").\n',
        );
      }
    });
}
