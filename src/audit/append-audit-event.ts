import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { hashAuditEvent, type ChainedEventFields } from './event-hash.js';

/** What the chain stores for one event, before seq and hashes are assigned. */
export type UnchainedEvent = Omit<ChainedEventFields, 'seq' | 'outcome'> & { outcome: 'success' | 'failure' | 'info' };

/**
 * Appends events, in order, to the chain. `trx` must be a transaction: the head row stays locked from
 * the first statement until it commits, so appends from every instance form one linear chain.
 *
 * The first statement is a write on purpose. On PostgreSQL the UPDATE takes the head's row lock and,
 * under READ COMMITTED, a waiting append re-reads the row the winner committed (no fork). On SQLite it
 * takes the database write lock up front; reading first and writing later would fail with
 * SQLITE_BUSY_SNAPSHOT when another process appended in between.
 */
export async function appendAuditEvents(trx: Kysely<Database>, events: readonly UnchainedEvent[]): Promise<{ seq: number; hash: string }> {
  const head = await trx
    .updateTable('audit_head')
    .set((eb) => ({ seq: eb('seq', '+', events.length) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirst();
  if (!head) throw new Error('audit_head row is missing: the audit chain migration (002) did not run or the row was deleted');
  let seq = Number(head.seq) - events.length;
  let prevHash = head.hash;
  const rows = events.map((event) => {
    seq += 1;
    const hash = hashAuditEvent(prevHash, { ...event, seq });
    const row = { seq, ...event, prev_hash: prevHash, hash };
    prevHash = hash;
    return row;
  });
  if (rows.length > 0) await trx.insertInto('audit_events').values(rows).execute();
  await trx.updateTable('audit_head').set({ hash: prevHash }).where('id', '=', 1).execute();
  return { seq, hash: prevHash };
}

export function appendAuditEvent(trx: Kysely<Database>, event: UnchainedEvent): Promise<{ seq: number; hash: string }> {
  return appendAuditEvents(trx, [event]);
}
