import type { Command } from 'commander';
import type { CliContext } from './cli-context.js';
import type { AuditVerification } from '../audit/index.js';
import { InputError } from '../lib/errors.js';
import { emit, isoTime, jsonLine } from './output.js';
import { knownAuditTypes, unknownTypeMessage } from './audit-event-types.js';
import { withCore } from './open-config.js';

const ANCHOR_NOTE =
  'Verification proves the log is internally consistent. Someone able to write the database could rebuild the ' +
  'whole chain: ship `gatehouse audit head` to another system regularly and check against it with --anchor SEQ:HASH.';

/** ISO 8601 date or date-time (a bare date is midnight UTC); anything else is a usage error naming the flag. */
function parseTime(flag: string, value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new InputError(`${flag} ${JSON.stringify(value.slice(0, 40))}: expected an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00:00Z`, 'usage');
  return ms;
}

function parseAnchor(value: string): { seq: number; hash: string } {
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(value.trim());
  if (!match) throw new InputError('--anchor: expected SEQ:HASH as printed by `gatehouse audit head`', 'usage');
  return { seq: Number(match[1]), hash: match[2]! };
}

function describeVerification(result: AuditVerification): string {
  const from = result.start.from === 'genesis' ? 'the first event' : `the signed checkpoint at seq ${result.start.seq} (key ${result.start.keyFingerprint})`;
  const rate = `${result.eventsPerSecond.toLocaleString('en-US')} events/s, ${(result.elapsedMs / 1000).toFixed(2)} s`;
  if (!result.ok && result.problem?.kind === 'anchor_pruned') {
    return [
      `audit log FAILED verification: the anchor at seq ${result.problem.seq} lies in a pruned range that no signed checkpoint records`,
      result.problem.message,
      'A checkpoint proves only the hash of the last event its prune deleted. Check exported heads with --anchor before retention reaches them.',
    ].join('\n');
  }
  if (!result.ok && result.problem) {
    const { problem } = result;
    return [
      `audit log FAILED verification: first bad ${problem.kind === 'bad_checkpoint' ? 'checkpoint' : 'event'} is seq ${problem.seq} (${problem.kind.replace('_', ' ')})`,
      problem.message,
      `${result.events} event(s) from ${from} verified before it (${rate})`,
    ].join('\n');
  }
  return [
    `audit log verified: ${result.events} event(s) from ${from}; ${rate}`,
    `head ${result.last.seq}:${result.last.hash}`,
    ...(result.anchor === 'matched' ? ['anchor matched'] : result.anchor === 'matched_checkpoint' ? ['anchor matched: retention deleted that event; the signed checkpoint at its seq records its hash'] : []),
    ANCHOR_NOTE,
  ].join('\n');
}

export function registerAuditCommands(program: Command, cli: CliContext): void {
  const audit = program.command('audit').description('The tamper-evident audit log: verify, query, prune, head');

  audit
    .command('verify')
    .option('--anchor <seq:hash>', 'a head exported earlier (`audit head`): the chain must still contain it')
    .option('--checkpoint-key <fingerprint>', 'trust only checkpoints signed by this key (SHA256:..., from `audit head`)')
    .option('--json', 'print JSON')
    .description('Check every event hash and link; exit 1 naming the first changed, deleted or reordered event')
    .action(async (options: { anchor?: string; checkpointKey?: string; json?: boolean }) => {
      const anchor = options.anchor === undefined ? undefined : parseAnchor(options.anchor);
      if (options.checkpointKey !== undefined && !/^SHA256:[0-9a-f]{64}$/.test(options.checkpointKey)) {
        throw new InputError('--checkpoint-key: expected SHA256:<64 hex digits> as printed by `gatehouse audit head`', 'usage');
      }
      const { verifyAuditChain } = await import('../audit/index.js');
      const result = await withCore(cli, (core) =>
        verifyAuditChain(core.store.db, { ...(anchor ? { anchor } : {}), ...(options.checkpointKey ? { checkpointKeyFingerprint: options.checkpointKey } : {}) }),
      );
      emit(cli, options.json, { ...result, note: ANCHOR_NOTE }, () => describeVerification(result));
      if (!result.ok) cli.setExitCode(1);
    });

  audit
    .command('query')
    .option('--type <type>', 'event type, e.g. sign_in, access.denied')
    .option('--user <user>', 'user email or id')
    .option('--ip <ip>', 'client address, exactly as recorded')
    .option('--app <app>', 'app name (detail.app)')
    .option('--since <iso>', 'events at or after this time')
    .option('--until <iso>', 'events before this time')
    .option('--limit <n>', 'at most this many events (default: all)')
    .option('--json', 'JSON lines (the only output of this command; accepted like every data command\'s --json)')
    .description('Print matching events as JSON lines, oldest first')
    .action(async (options: { type?: string; user?: string; ip?: string; app?: string; since?: string; until?: string; limit?: string; json?: boolean }) => {
      const since = options.since === undefined ? undefined : parseTime('--since', options.since);
      const until = options.until === undefined ? undefined : parseTime('--until', options.until);
      const limit = options.limit === undefined ? Number.POSITIVE_INFINITY : Number(options.limit);
      if (!(Number.isInteger(limit) || limit === Number.POSITIVE_INFINITY) || limit < 1) throw new InputError('--limit: expected a positive whole number', 'usage');
      const { queryAudit } = await import('../audit/index.js');
      await withCore(cli, async (core) => {
        if (options.type !== undefined) {
          // A mistyped type would print nothing, which reads as "no such events": refuse it instead.
          const known = await knownAuditTypes(core.store.db);
          if (!known.includes(options.type)) throw new InputError(unknownTypeMessage(options.type, known), 'usage');
        }
        let printed = 0;
        let afterSeq = 0;
        // Pages of 1000: memory stays flat however long the answer.
        while (printed < limit) {
          const page = await queryAudit(core.store.db, {
            ...(options.type !== undefined ? { type: options.type } : {}),
            ...(options.user !== undefined ? { user: options.user } : {}),
            ...(options.ip !== undefined ? { ip: options.ip } : {}),
            ...(options.app !== undefined ? { app: options.app } : {}),
            ...(since !== undefined ? { since } : {}),
            ...(until !== undefined ? { until } : {}),
            afterSeq,
            limit: Math.min(1000, limit - printed),
          });
          if (page.length === 0) break;
          cli.io.stdout.write(page.map((event) => `${jsonLine(event)}\n`).join(''));
          printed += page.length;
          afterSeq = page.at(-1)!.seq;
        }
      });
    });

  audit
    .command('prune')
    .requiredOption('--before <iso>', 'delete events that happened before this time')
    .option('--json', 'print JSON')
    .description('Retention: delete old events, leaving a signed checkpoint so the rest stays verifiable')
    .action(async (options: { before: string; json?: boolean }) => {
      const before = parseTime('--before', options.before);
      const { pruneAuditLog } = await import('../audit/index.js');
      const result = await withCore(cli, (core) =>
        pruneAuditLog({ db: core.store.db, clock: core.clock, random: core.random, sealer: core.secrets }, { before, actor: 'cli' }),
      );
      emit(cli, options.json, result, () =>
        result.checkpoint
          ? `deleted ${result.deleted} event(s) through seq ${result.checkpoint.seq} (last at ${isoTime(result.checkpoint.at)}); checkpoint signed by ${result.checkpoint.keyFingerprint}`
          : `nothing to delete: the oldest event is not older than ${isoTime(before)}`,
      );
    });

  audit
    .command('head')
    .option('--json', 'print JSON')
    .description('Print SEQ:HASH of the newest event and the checkpoint key fingerprint, to keep outside Gatehouse (use with `audit verify --anchor` and `--checkpoint-key`)')
    .action(async (options: { json?: boolean }) => {
      const { loadCheckpointKey, readAuditHead, readCheckpointKey } = await import('../audit/index.js');
      const head = await withCore(cli, async (core) => {
        // The key that will sign retention checkpoints, made now if no prune has made it yet: pinned
        // before the first prune, a checkpoint signed by any other key is refused by `verify --checkpoint-key`.
        // Without the key-encryption key it cannot be made: the published one, if any, is printed.
        const key = await loadCheckpointKey(core.store.db, core.random, core.secrets).catch(() => readCheckpointKey(core.store.db));
        return { ...(await readAuditHead(core.store.db)), checkpointKey: key?.fingerprint ?? null };
      });
      emit(cli, options.json, { seq: head.seq, hash: head.hash, at: head.at ?? null, anchor: `${head.seq}:${head.hash}`, checkpointKey: head.checkpointKey }, () =>
        [
          `${head.seq}:${head.hash}`,
          head.checkpointKey === null ? 'checkpoint-key none yet (made by the first start or prune with the key-encryption key)' : `checkpoint-key ${head.checkpointKey}`,
        ].join('\n'),
      );
    });
}
