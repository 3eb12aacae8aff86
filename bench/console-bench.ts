/**
 * npm run bench:console — server time of every admin console page with a full organisation in the
 * database: 10,000 users, 50,000 live sessions, 1,000,000 DNS query-log rows and 200,000 hash-chained
 * audit events over 30 days (bench/console/generate-console-data.ts), on SQLite and on PostgreSQL.
 * Target per page: ≤ 150 ms at the median and ≤ 500 ms at p99.
 *
 * Each page is asked for through the running Gatehouse's fastify app (`inject`) with the cookie of an
 * admin who signed in through the portal with a software key, like any admin; after a warm-up, the
 * pages are timed in interleaved rounds. A page that answers 404 is not built yet and is listed as
 * such, so the bench runs as pages land. Measured in the same run, for reference: the portal's
 * /account page and a bare indexed SELECT (what a trivial page and a trivial query cost on this
 * machine), and the naive queries the overview's charts would run without rollups.
 *
 *   npx tsx bench/console-bench.ts [--scale 1] [--engine sqlite|pg|both] [--requests 100] [--warmup 5] [--query-repeats 10]
 *
 * PostgreSQL: a fresh database on postgres://postgres@127.0.0.1:5432/gatehouse_console_bench (dropped at
 * the end), VACUUM ANALYZE after the load as autovacuum would do; skipped with a line when nothing
 * answers. Writes bench/results/console.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { verifyAuditChain } from '../src/audit/index.js';
import { overviewNaive, rollUpOverview } from '../src/console/index.js';
import { totpSecretContext } from '../src/secrets/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../test/peers.js';
import { freshPostgresDatabase, startFixture } from '../test/support/gatehouse-fixture.js';
import { TestBrowser } from '../test/support/http-client.js';
import { enrolThroughPortal } from '../test/support/portal-sign-in.js';
import { consoleDataCounts, generateConsoleData } from './console/generate-console-data.js';
import { formatTable, quantile, timePages, timeQueries, type PageTarget, type QueryTarget, type Timing } from './console/time-targets.js';

const TARGET = { medianMs: 150, p99Ms: 500 };
const DAY = 86_400_000;

/**
 * Every console page the bench asks for: add a line when a page lands. A path that answers 404 is
 * printed as "not built" and skipped.
 */
export const PAGES: PageTarget[] = [
  { label: 'baseline: portal /account', path: () => '/account', baseline: true },
  { label: 'overview (charts), 24 h', path: () => '/admin' },
  { label: 'overview (charts), 1 h', path: () => '/admin?range=1h' },
  { label: 'overview (charts), 7 d', path: () => '/admin?range=7d' },
  { label: 'overview (charts), 30 d', path: () => '/admin?range=30d' },
  { label: 'overview data (JSON), 30 d', path: () => '/admin/overview.json?range=30d' },
  { label: 'sessions', path: () => '/admin/sessions' },
  { label: 'sessions: search', path: () => '/admin/sessions?q=maria' },
  { label: 'users', path: () => '/admin/users' },
  { label: 'users: password-only', path: () => '/admin/users?filter=password-only' },
  { label: 'user detail', path: (d) => `/admin/users/${encodeURIComponent(d.sampleUserId)}` },
  { label: 'apps', path: () => '/admin/apps' },
  { label: 'audit', path: () => '/admin/audit' },
  { label: 'audit: by type', path: () => '/admin/audit?type=access.denied' },
  { label: 'dns', path: () => '/admin/dns' },
  { label: 'dns: by name', path: (d) => `/admin/dns?name=${encodeURIComponent(d.busiestName)}` },
  { label: 'incidents', path: () => '/admin/incidents' },
  { label: 'tokens', path: () => '/admin/tokens' },
  { label: 'reports', path: () => '/admin/reports' },
];

const signInMethod = (dialect: string) =>
  dialect === 'postgres' ? sql`coalesce(detail::jsonb->>'class', detail::jsonb->>'method')` : sql`coalesce(json_extract(detail, '$.class'), json_extract(detail, '$.method'))`;

/** Run on the store directly, timed like the pages (no HTTP, no rendering). */
export const QUERIES: QueryTarget[] = [
  { label: 'baseline: bare indexed SELECT (a user by id)', kind: 'baseline', run: (db, _d, _n, data) => db.selectFrom('users').selectAll().where('id', '=', data.sampleUserId).execute() },
  {
    label: 'naive: DNS queries per hour by verdict, 30 days',
    kind: 'naive',
    run: (db, _d, now) => sql`select at / 3600000 as hour, verdict, count(*) as n from dns_queries where at >= ${now - 30 * DAY} group by at / 3600000, verdict`.execute(db),
  },
  {
    label: 'naive: sign-ins per day by method, 30 days',
    kind: 'naive',
    run: (db, dialect, now) =>
      sql`select at / 86400000 as day, ${signInMethod(dialect)} as method, count(*) as n from audit_events where type = 'sign_in' and outcome = 'success' and at >= ${now - 30 * DAY} group by at / 86400000, ${signInMethod(dialect)}`.execute(db),
  },
  {
    label: 'naive: access denials per day by reason, 30 days',
    kind: 'naive',
    run: (db, _d, now) => sql`select at / 86400000 as day, code, count(*) as n from audit_events where type = 'access.denied' and at >= ${now - 30 * DAY} group by at / 86400000, code`.execute(db),
  },
  // The overview's own series straight from the raw rows: what its rollups replace.
  { label: 'naive: the overview\'s series, 24 h, from raw rows', kind: 'naive', run: (db, _d, now) => overviewNaive(db, '24h', now) },
  { label: 'naive: the overview\'s series, 30 d, from raw rows', kind: 'naive', run: (db, _d, now) => overviewNaive(db, '30d', now) },
];

const { values: flags } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    engine: { type: 'string', default: 'both' },
    requests: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '5' },
    'query-repeats': { type: 'string', default: '10' },
  },
});
const SCALE = Number(flags.scale);
const REQUESTS = Number(flags.requests);
const WARMUP = Number(flags.warmup);
const QUERY_REPEATS = Number(flags['query-repeats']);
const ENGINES = flags.engine === 'both' ? ['sqlite', 'pg'] : [flags.engine];
if (!(SCALE > 0 && SCALE <= 10) || ![REQUESTS, WARMUP, QUERY_REPEATS].every((n) => Number.isInteger(n) && n > 0) || !ENGINES.every((e) => e === 'sqlite' || e === 'pg')) {
  process.stderr.write('usage: console-bench.ts [--scale 0<S<=10] [--engine sqlite|pg|both] [--requests N] [--warmup N] [--query-repeats N]\n');
  process.exit(2);
}
const counts = consoleDataCounts(SCALE);
const here = dirname(fileURLToPath(import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);
const PG_DATABASE = 'gatehouse_console_bench';

interface EngineRun {
  engine: string;
  store: string;
  loadSeconds: number;
  tableSeconds: Record<string, number>;
  rows: Record<string, number>;
  analyzeSeconds?: number;
  auditChain: { ok: boolean; events: number; seconds: number };
  loadAverage: number;
  timings: Timing[];
}

async function dropPostgresDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function runEngine(engine: string): Promise<EngineRun | undefined> {
  let databaseUrl: string | undefined;
  if (engine === 'pg') {
    if (!(await havePostgres())) {
      say(`[SKIPPED] PostgreSQL: nothing answers at ${new URL(POSTGRES_TEST_URL).host}; only SQLite measured`);
      return undefined;
    }
    databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, PG_DATABASE);
  }
  const fx = await startFixture(databaseUrl ? { databaseUrl } : {});
  try {
    const { store, clock, secrets } = fx.gatehouse.core;
    const now = clock.now();
    say(`\n${engine}: loading ${Object.entries(counts).map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`).join(', ')} into ${store.description}`);
    const loadStarted = performance.now();
    const data = await generateConsoleData({ db: store.db, dialect: store.dialect, now, counts, log: say, sealTotpSecret: (userId, secret) => secrets.seal(secret, totpSecretContext(userId)) });
    let analyzeSeconds: number | undefined;
    if (store.dialect === 'postgres') {
      const started = performance.now();
      for (const table of ['users', 'group_members', 'credentials', 'legacy_factors', 'sessions', 'app_sessions', 'dns_queries', 'audit_events']) await sql`vacuum analyze ${sql.table(table)}`.execute(store.db);
      analyzeSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
      say(`  vacuum analyze: ${analyzeSeconds} s`);
    }
    const loadSeconds = Number(((performance.now() - loadStarted) / 1000).toFixed(1));
    say(`  loaded in ${loadSeconds} s (${Object.entries(data.seconds).map(([k, v]) => `${k} ${v} s`).join(', ')})`);
    const chain = await verifyAuditChain(store.db);
    const auditChain = { ok: chain.ok, events: chain.events, seconds: Number((chain.elapsedMs / 1000).toFixed(1)) };
    say(`  audit chain: ${chain.ok ? 'verifies' : `BROKEN: ${chain.problem?.message}`} (${chain.events.toLocaleString('en-US')} events in ${auditChain.seconds} s)`);

    // The rollups a running Gatehouse builds in the background, caught up before timing (their first
    // build over 30 days of rows is reported: it is what a new deployment or an upgrade pays once).
    const rollStarted = performance.now();
    let passes = 1;
    while ((await rollUpOverview(store.db, clock.now())).behind) passes += 1;
    say(`  overview rollups caught up in ${passes} passes, ${((performance.now() - rollStarted) / 1000).toFixed(1)} s`);

    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'bench-admin@acme.test', ['admins']);
    const cookie = `gatehouse_session=${browser.cookies(fx.portalHost).get('gatehouse_session')!}`;
    const loadAverage = Number(os.loadavg()[0]!.toFixed(2));
    say(`  timing: ${WARMUP} warm-up + ${REQUESTS} requests per page (interleaved rounds), ${QUERY_REPEATS} per query; load average ${loadAverage} on ${os.cpus().length} CPUs`);
    const pages = await timePages({ gatehouse: fx.gatehouse, host: `${fx.portalHost}:${fx.port}`, cookie }, PAGES, data, { requests: REQUESTS, warmup: WARMUP });
    const queries = await timeQueries(store.db, store.dialect, clock.now(), data, QUERIES, QUERY_REPEATS);
    return { engine, store: store.description, loadSeconds, tableSeconds: data.seconds, rows: data.rows, ...(analyzeSeconds !== undefined ? { analyzeSeconds } : {}), auditChain, loadAverage, timings: [...pages, ...queries] };
  } finally {
    await fx.close();
    if (databaseUrl) await dropPostgresDatabase();
  }
}

const runs: EngineRun[] = [];
for (const engine of ENGINES) {
  const run = await runEngine(engine);
  if (run) runs.push(run);
}

say('');
for (const run of runs) {
  say(formatTable(`${run.engine === 'pg' ? 'PostgreSQL' : 'SQLite'} (scale ${SCALE}: ${run.rows.users} users, ${run.rows.sessions} sessions, ${run.rows.dns_queries} DNS rows, ${run.rows.audit_events} audit events; loaded in ${run.loadSeconds} s; load average ${run.loadAverage})`, run.timings, TARGET));
  const pages = run.timings.filter((t) => t.kind === 'page' && t.state === 'ok');
  const missed = pages.filter((t) => !(quantile(t.samples, 0.5) <= TARGET.medianMs && quantile(t.samples, 0.99) <= TARGET.p99Ms));
  say(`${pages.length} pages measured, ${missed.length} missed the target${missed.length ? `: ${missed.map((t) => t.label).join(', ')}` : ''}; not built: ${run.timings.filter((t) => t.state === 'not built').map((t) => t.path).join(' ') || 'none'}\n`);
}

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'console.json'),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown' },
      scale: SCALE,
      counts,
      target: TARGET,
      requests: REQUESTS,
      runs: runs.map(({ timings, ...run }) => ({
        ...run,
        timings: timings.map(({ samples, ...t }) => ({ ...t, n: samples.length, medianMs: Number(quantile(samples, 0.5).toFixed(2)), p99Ms: Number(quantile(samples, 0.99).toFixed(2)) })),
      })),
      note: 'server time through fastify inject (no socket) in the bench process, which also holds Gatehouse; the machine may be shared with other work (see loadAverage)',
    },
    null,
    2,
  )}\n`,
);
process.exit(0);
