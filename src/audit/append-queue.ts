import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { appendAuditEvents, type UnchainedEvent } from './append-audit-event.js';

interface Pending {
  event: UnchainedEvent;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// Bounded so one transaction stays short and within both engines' bind-parameter limits (11 per row).
const MAX_BATCH = 256;

/**
 * Group commit for events recorded outside a transaction. The chain serializes appends (head lock
 * held until commit, and a commit waits for its WAL flush), so one transaction per event caps the
 * whole deployment at one event per fsync and leaves pool connections queued on the lock. Events
 * recorded while a flush runs go into the next transaction together: one lock, one commit. Each
 * promise still settles only once its own event is committed (or has failed).
 */
export function createAppendQueue(db: Kysely<Database>) {
  let queue: Pending[] = [];
  let flushing = false;

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, MAX_BATCH);
        queue = queue.slice(MAX_BATCH);
        try {
          await db.transaction().execute((trx) => appendAuditEvents(trx, batch.map((p) => p.event)));
          for (const pending of batch) pending.resolve();
        } catch {
          // One event the database refuses must not take the others down with it.
          for (const pending of batch) {
            try {
              await db.transaction().execute((trx) => appendAuditEvents(trx, [pending.event]));
              pending.resolve();
            } catch (error) {
              pending.reject(error);
            }
          }
        }
      }
    } finally {
      flushing = false;
    }
  }

  return {
    append(event: UnchainedEvent): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ event, resolve, reject });
        if (!flushing) void flush();
      });
    },
  };
}
