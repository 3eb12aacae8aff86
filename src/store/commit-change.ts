import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { publishChange } from './change-feed.js';
import type { Store } from './open-store.js';
import type { Database } from './schema.js';

/** A change-feed row: what every instance applies to its in-memory snapshot. */
export interface FeedRow {
  kind: string;
  payload: Record<string, unknown>;
}

/**
 * The audit event a change is recorded with. The store sits below the audit capability and must not
 * import it, so this is the part of audit's `AuditEvent` a state change uses; every value of it is an
 * `AuditEvent`, which is why `AuditLog` is a `ChangeAuditor` as it stands.
 */
export interface ChangeAuditEvent {
  type: string;
  outcome: 'success' | 'failure' | 'info';
  userId?: string | undefined;
  actor?: string | undefined;
  ip?: string | undefined;
  detail?: Record<string, unknown>;
}

/** Appends an audit event inside the given transaction (audit's `AuditLog.record`). */
export interface ChangeAuditor {
  record: (event: ChangeAuditEvent, db: Kysely<Database>) => Promise<void>;
}

/** Known before the write, or derived from what the write did; `undefined` leaves it out. */
export type FromWrite<V, T> = V | ((written: T) => V | undefined);

export interface CommitChangeOptions<T> {
  /** A transaction to join (the caller commits); otherwise a transaction of its own is opened. */
  db?: Kysely<Database> | undefined;
  clock: Clock;
  /** The state change itself. */
  write: (trx: Kysely<Database>) => Promise<T>;
  feed: FromWrite<FeedRow, T>;
  /** Records `event` in the same transaction; a change with no audit event of its own passes neither. */
  audit?: ChangeAuditor | undefined;
  event?: FromWrite<ChangeAuditEvent, T> | undefined;
}

/**
 * Writes a state change, its change-feed row and its audit event in one transaction (ARCHITECTURE.md,
 * data flow): every instance applies the feed row only if the change committed, and the audit log
 * never records a change that did not happen nor misses one that did. On PostgreSQL the feed's NOTIFY
 * is sent inside the transaction, so it is delivered at commit. Returns what `write` returned.
 */
export async function commitChange<T>(store: Pick<Store, 'db' | 'dialect'>, options: CommitChangeOptions<T>): Promise<T> {
  const { db = store.db, clock, write } = options;
  if (options.event !== undefined && !options.audit) throw new Error('commitChange: an audit event was given without an audit log to record it');
  const run = async (trx: Kysely<Database>): Promise<T> => {
    const written = await write(trx);
    const feed = resolve(options.feed, written);
    if (feed) await publishChange(trx, store, clock, feed.kind, feed.payload);
    if (options.audit) {
      const event = resolve(options.event, written);
      if (event !== undefined) await options.audit.record(event, trx);
    }
    return written;
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

function resolve<V, T>(value: FromWrite<V, T>, written: T): V | undefined {
  return typeof value === 'function' ? (value as (written: T) => V | undefined)(written) : value;
}
