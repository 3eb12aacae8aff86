/**
 * A second Gatehouse process appending to the audit log (used by the concurrency tests):
 * `node --import tsx test/audit/append-worker.ts <database-url> <type> <count>`.
 */
import { createAuditLog } from '../../src/audit/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { openStore } from '../../src/store/index.js';

const [url, type, count] = process.argv.slice(2);
if (!url || !type || !count) throw new Error('usage: append-worker <database-url> <type> <count>');
const store = await openStore({ url });
try {
  const audit = createAuditLog({ db: store.db, clock: systemClock });
  await Promise.all(Array.from({ length: Number(count) }, (_, i) => audit.record({ type, outcome: 'info', detail: { i, pid: process.pid } })));
} finally {
  await store.close();
}
