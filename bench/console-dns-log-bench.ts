/**
 * The console DNS page's query-log search on 1,000,000 rows (SQLite file, and PostgreSQL when it
 * answers): each filter the page offers, first page and a deep keyset page, median and p99 of the
 * query time. The page's budget is 150 ms median / 500 ms p99 of server time.
 *
 *   npx tsx bench/console-dns-log-bench.ts [rows]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { searchQueryLog, type QueryLogFilter } from '../src/console/dns-query.js';
import { openStore, type Store } from '../src/store/index.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const RUNS = 30;
const BASE = Date.UTC(2026, 11, 6);

async function fill(store: Store): Promise<void> {
  // One statement: the rows are generated inside the database (a day of queries, 86 ms apart).
  const series =
    store.dialect === 'postgres'
      ? sql`select i from generate_series(0, ${ROWS - 1}) as s(i)`
      : sql`with recursive s(i) as (select 0 union all select i + 1 from s where i < ${ROWS - 1}) select i from s`;
  const concat = (...parts: ReturnType<typeof sql>[]) => sql.join(parts, sql` || `);
  await sql`insert into dns_queries (at, client, user_id, protocol, name, type, verdict, reason, latency_ms)
    select cast(${BASE} as bigint) + i * 86,
      ${concat(sql`'10.0.'`, sql`cast(i % 2 as text)`, sql`'.'`, sql`cast(i % 250 as text)`)},
      case when i % 10 < 3 then ${concat(sql`'u'`, sql`cast(i % 10000 as text)`)} else null end,
      'udp',
      case when i % 1000 = 0 then 'login.acme-secure.test' else ${concat(sql`'host'`, sql`cast(i % 20000 as text)`, sql`'.example.test'`)} end,
      'A',
      case when i % 1000 = 0 then 'block' when i % 100 = 1 then 'block' when i % 1000 = 7 then 'warn' else 'allow' end,
      '', 1
    from (${series}) as g`.execute(store.db);
  if (store.dialect === 'postgres') await sql`analyze dns_queries`.execute(store.db);
  else await sql`analyze`.execute(store.db);
}

async function measure(store: Store, label: string, filter: QueryLogFilter): Promise<{ label: string; rows: number; median: number; p99: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    rows = (await searchQueryLog(store.db, filter)).rows.length;
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { label, rows, median: times[Math.floor(times.length / 2)]!, p99: times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)]! };
}

const recorded: Record<string, unknown> = { rows: ROWS, runs: RUNS, budget: { medianMs: 150, p99Ms: 500 } };

async function run(url: string, engine: string): Promise<void> {
  const store = await openStore({ url });
  try {
    const started = Date.now();
    await fill(store);
    process.stdout.write(`${engine}: ${ROWS} rows written in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const page = { match: 'exact', limit: 100 } as const;
    const middle = { at: BASE + Math.floor(ROWS / 2) * 86, id: Math.floor(ROWS / 2) };
    const cases: [string, QueryLogFilter][] = [
      ['newest page', page],
      ['deep page (cursor mid-table)', { ...page, before: middle }],
      ['name exact (50 rows)', { ...page, name: 'host42.example.test' }],
      ['name exact, rare (1,000 rows)', { ...page, name: 'login.acme-secure.test' }],
      ['name prefix, broad (host1)', { ...page, match: 'prefix', name: 'host1' }],
      ['name prefix, narrow (login.acme)', { ...page, match: 'prefix', name: 'login.acme' }],
      ['client', { ...page, client: '10.0.1.77' }],
      ['user', { ...page, userId: 'u42' }],
      ['verdict block', { ...page, verdict: 'block' }],
      ['verdict warn (0.1 %)', { ...page, verdict: 'warn' }],
      ['verdict block + 1 h window', { ...page, verdict: 'block', from: BASE + 3_600_000 * 5, to: BASE + 3_600_000 * 6 }],
      ['client + name', { ...page, client: '10.0.0.0', name: 'login.acme-secure.test' }],
      ['user, deep page', { ...page, userId: 'u42', before: middle }],
      ['nothing matches (name)', { ...page, name: 'absent.example.test' }],
    ];
    const results = [];
    for (const [label, filter] of cases) results.push(await measure(store, label, filter));
    process.stdout.write(`${'search'.padEnd(34)} ${'rows'.padStart(5)} ${'median ms'.padStart(10)} ${'p99 ms'.padStart(8)}\n`);
    recorded[engine] = results;
    for (const r of results) process.stdout.write(`${r.label.padEnd(34)} ${String(r.rows).padStart(5)} ${r.median.toFixed(2).padStart(10)} ${r.p99.toFixed(2).padStart(8)}\n`);
  } finally {
    await store.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-console-bench-'));
try {
  await run(`sqlite:${join(dir, 'bench.db')}`, 'SQLite');
  const pgUrl = process.env.GATEHOUSE_BENCH_POSTGRES;
  if (pgUrl) await run(pgUrl, 'PostgreSQL');
  else process.stdout.write('PostgreSQL: set GATEHOUSE_BENCH_POSTGRES to a fresh database URL to measure it too\n');
  const out = join(import.meta.dirname, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'console-dns-log.json'), `${JSON.stringify({ at: new Date().toISOString(), ...recorded }, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
