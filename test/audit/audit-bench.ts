/**
 * Audit chain throughput on SQLite and PostgreSQL: appends (one at a time, inside a caller's
 * transaction, and many at once through group commit), against the pre-chain baseline of a bare
 * INSERT, then `verifyAuditChain` over 100k events with its peak heap.
 *   node --expose-gc --import tsx test/audit/audit-bench.ts [events-to-verify]
 * Run by hand; it prints a table and asserts nothing about time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { createAuditLog, verifyAuditChain } from '../../src/audit/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { openStore, type Store } from '../../src/store/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';

const VERIFY_EVENTS = Number(process.argv[2] ?? 100_000);
const SEQUENTIAL = 1000;
const PARALLEL = 5000;

const detail = (i: number) => ({ app: 'wiki', policy: 'staff', reasons: ['group_missing: staff'], method: 'GET', path: `/page/${i}`, requestId: `r${i}` });
const perSecond = (count: number, ms: number) => Math.round((count * 1000) / ms);

async function timed(count: number, run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return perSecond(count, performance.now() - started);
}

async function bench(name: string, store: Store): Promise<Record<string, string | number>> {
  const audit = createAuditLog({ db: store.db, clock: systemClock });
  const event = (i: number) => ({ type: 'access.denied', outcome: 'failure' as const, ip: '192.0.2.1', detail: detail(i) });

  // Baseline: the pre-chain write, a bare autocommit INSERT (seq chosen far above the chain).
  let baseSeq = 1e12;
  const bareSequential = await timed(SEQUENTIAL, async () => {
    for (let i = 0; i < SEQUENTIAL; i++) {
      await store.db.insertInto('audit_events').values({ seq: ++baseSeq, at: Date.now(), type: 'x', outcome: 'info', detail: JSON.stringify(detail(i)), prev_hash: '', hash: '' }).execute();
    }
  });
  const bareParallel = await timed(PARALLEL, async () => {
    await Promise.all(Array.from({ length: PARALLEL }, (_, i) =>
      store.db.insertInto('audit_events').values({ seq: ++baseSeq, at: Date.now(), type: 'x', outcome: 'info', detail: JSON.stringify(detail(i)), prev_hash: '', hash: '' }).execute()));
  });
  await store.db.deleteFrom('audit_events').where('seq', '>', 1e11).execute();

  const sequential = await timed(SEQUENTIAL, async () => {
    for (let i = 0; i < SEQUENTIAL; i++) await audit.record(event(i));
  });
  const inTransaction = await timed(SEQUENTIAL, async () => {
    for (let i = 0; i < SEQUENTIAL; i++) await store.db.transaction().execute((trx) => audit.record(event(i), trx));
  });
  const parallel = await timed(PARALLEL, () => Promise.all(Array.from({ length: PARALLEL }, (_, i) => audit.record(event(i)))).then(() => {}));

  // Fill up to VERIFY_EVENTS through group commit, then verify with a heap sampler running.
  const have = Number((await store.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  for (let done = have; done < VERIFY_EVENTS; done += 10_000) {
    await Promise.all(Array.from({ length: Math.min(10_000, VERIFY_EVENTS - done) }, (_, i) => audit.record(event(done + i))));
  }
  const verification = await verifyAuditChain(store.db);
  if (!verification.ok) throw new Error(`verify failed: ${JSON.stringify(verification.problem)}`);
  // A second, slower run measures live heap: collect garbage before each sample (needs --expose-gc).
  const gc = globalThis.gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const sampler = setInterval(() => {
    gc?.();
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }, 20);
  await verifyAuditChain(store.db);
  clearInterval(sampler);

  return {
    engine: name,
    'bare INSERT 1-by-1/s': bareSequential,
    'bare INSERT x5000/s': bareParallel,
    'record 1-by-1/s': sequential,
    'record in caller trx/s': inTransaction,
    'record x5000 (group)/s': parallel,
    'verify events': verification.events,
    'verify/s': verification.eventsPerSecond,
    'verify live heap +MB': gc ? Math.round(((heapPeak - heapBefore) / 1e6) * 10) / 10 : 'run with --expose-gc',
  };
}

const rows: Record<string, string | number>[] = [];
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-bench-'));
try {
  const sqlite = await openStore({ url: `sqlite:${join(dir, 'bench.db')}` });
  try {
    rows.push(await bench('sqlite', sqlite));
  } finally {
    await sqlite.close();
  }
  if (await havePostgres()) {
    const postgres = await openStore({ url: await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_audit_bench') });
    try {
      const { rows: [settings] } = await sql<{ synchronous_commit: string }>`select current_setting('synchronous_commit') as synchronous_commit`.execute(postgres.db);
      process.stderr.write(`postgres synchronous_commit=${settings?.synchronous_commit}\n`);
      rows.push(await bench('postgres', postgres));
    } finally {
      await postgres.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.table(rows);
