import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import type { Database } from '../../store/index.js';
import { pollEvery, type PollLoop } from './poll-loop.js';

/** A key that came into existence or went away, as the audit log recorded it. */
export interface KeyChange {
  seq: number;
  at: number;
  kind: 'enrollment' | 'key.added' | 'key.removed';
  userId: string;
  email: string;
  /** Who did it: `user:<id>` for the owner, `cli`, `admin:<id>`, an incident. */
  actor: string | undefined;
  ip: string | undefined;
  userAgent: string | undefined;
  credential: string | undefined;
  keyName: string | undefined;
  model: string | undefined;
}

const KINDS = ['enrollment', 'key.added', 'key.removed'] as const;
const MAX_RETRIES = 1000;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value.slice(0, 300) : undefined;
}

/**
 * A new key on an account is how a phished session or a leaked invite link becomes permanent access,
 * so its owner and the responders hear of every one, whichever path wrote it (portal, CLI, another
 * instance). Each instance reads the audit log's successful key events since it last looked and hands
 * each to `onChange`, which claims every delivery in the database (one instance sends it) and throws
 * when one failed; such an event is handed over again on every later look until it goes through. The audit log is the queue: an
 * event written while no instance ran is found by the next start's look-back window.
 */
export function watchKeyChanges(options: {
  db: Kysely<Database>;
  clock: Clock;
  intervalMs: number;
  /** How far back a starting instance looks for events nobody has announced yet. */
  lookBackMs: number;
  onChange: (change: KeyChange) => Promise<void>;
  onError: (error: unknown) => void;
}): PollLoop {
  const { db, clock } = options;
  let afterSeq = 0;
  const since = clock.now() - options.lookBackMs;
  /** Notices whose delivery failed, tried again on every look (bounded: the oldest give way). */
  const retry = new Map<number, KeyChange>();
  let firstError: unknown;
  const hand = async (change: KeyChange) => {
    try {
      await options.onChange(change);
      retry.delete(change.seq);
    } catch (error) {
      firstError ??= error;
      retry.set(change.seq, change);
      if (retry.size > MAX_RETRIES) retry.delete(retry.keys().next().value!);
    }
  };

  const check = async () => {
    firstError = undefined;
    for (const change of [...retry.values()]) await hand(change);
    const rows = await db
      .selectFrom('audit_events')
      .leftJoin('users', 'users.id', 'audit_events.user_id')
      .select(['audit_events.seq', 'audit_events.at', 'audit_events.type', 'audit_events.user_id', 'audit_events.actor', 'audit_events.ip', 'audit_events.detail', 'users.email'])
      .where('audit_events.seq', '>', afterSeq)
      .where('audit_events.at', '>=', since)
      .where('audit_events.type', 'in', [...KINDS])
      .where('audit_events.outcome', '=', 'success')
      .orderBy('audit_events.seq')
      .limit(500)
      .execute();
    for (const row of rows) {
      if (!row.user_id) {
        afterSeq = Math.max(afterSeq, Number(row.seq));
        continue;
      }
      let detail: Record<string, unknown> = {};
      try {
        detail = JSON.parse(row.detail) as Record<string, unknown>;
      } catch {
        // an unreadable detail still makes a notice, with less in it
      }
      const change: KeyChange = {
        seq: Number(row.seq),
        at: Number(row.at),
        kind: row.type as KeyChange['kind'],
        userId: row.user_id,
        email: row.email ?? row.user_id,
        actor: row.actor ?? undefined,
        ip: row.ip ?? undefined,
        userAgent: text(detail.userAgent),
        credential: text(detail.credential),
        keyName: text(detail.name),
        model: text(detail.model),
      };
      afterSeq = Math.max(afterSeq, change.seq);
      // One failing channel must not hold back the notices after it: a failure waits in `retry`.
      await hand(change);
    }
    if (firstError !== undefined) throw firstError;
  };
  return pollEvery(options.intervalMs, check, options.onError);
}
