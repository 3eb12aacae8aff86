/**
 * Random-subdomain flood ("water torture"): N unique `<random>.victim.test` A queries, each answered
 * NXDOMAIN with an SOA by the local upstream fixture (so RFC 2308 negative caching applies), with one
 * popular name asked every 100 queries. Measures the RSS of each server before and after the flood
 * (/proc/PID/status VmRSS), and whether the popular name was still answered from the cache afterwards.
 * Baseline in the same run: dnsmasq with its default cache (150 names). Gatehouse runs with the
 * default `dns.memory_budget_mb`, and once more with the budget at its maximum, which leaves only the
 * count bounds (`cache.max_entries` 100,000): the behaviour before the byte budget. Both run the
 * lookalike hook (so the verdict memo fills) and the query log ring behind a stalled database (its
 * worst case). Prints a table and writes bench/results/dns-flood.json.
 *
 *   npx tsx bench/dns-flood-bench.ts [--flood 200000] [--qps 5000] [--servers dnsmasq,gatehouse,gatehouse-unbounded]
 *
 * A run with --servers narrowed prints the table but does not overwrite the results file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { startUpstreamFixture, type UpstreamFixture } from '../src/dns/test-support/upstream-fixture.js';
import { freePort, rssMb, stop, waitForAnswer } from './dns/bench-process.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name}: expected a positive whole number, got ${JSON.stringify(process.argv[i + 1] ?? '')}`);
  return value;
};
const FLOOD = arg('flood', 200_000);
/** dnsperf's send rate: the upstream fixture is one Node thread, and above its rate queries are lost rather than cached. */
const QPS = arg('qps', 5000);
const ALL_SERVERS = ['dnsmasq', 'gatehouse', 'gatehouse-unbounded'] as const;
const serversArg = process.argv.indexOf('--servers');
const SERVERS = serversArg > 0 ? (process.argv[serversArg + 1] ?? '').split(',') : [...ALL_SERVERS];
for (const s of SERVERS) if (!(ALL_SERVERS as readonly string[]).includes(s)) throw new Error(`--servers: unknown "${s}" (one of ${ALL_SERVERS.join(', ')})`);
/**
 * Same semi-space flag as dns-bench.ts, for comparable RSS; --expose-gc so the process can report its
 * live heap after the flood (a collection it runs on request, after RSS is read).
 */
const NODE_FLAGS = ['--max-semi-space-size=2', '--expose-gc'];
const POPULAR = 'www.popular.test';
const ZONE = 'victim.test';

interface FloodPerf { sent: number; lost: number; qps: number; rcodes: string }

function dnsperfOnce(port: number, file: string): Promise<FloodPerf> {
  return new Promise((resolve, reject) => {
    // -n 1: the file once, so every name is asked exactly once (the popular one every 100 lines).
    execFile('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-n', '1', '-Q', String(QPS), '-q', '500', '-c', '2', '-T', '1', '-t', '2'],
      { timeout: (FLOOD / QPS + 120) * 1000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
        if (error) return reject(error);
        const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
        resolve({
          sent: num(/Queries sent:\s+(\d+)/), lost: num(/Queries lost:\s+(\d+)/), qps: num(/Queries per second:\s+([\d.]+)/),
          rcodes: /Response codes:\s+(.*)/.exec(stdout)?.[1] ?? '',
        });
      });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface FloodRun {
  rssBeforeMb: number;
  rssAfterMb: number;
  /** After 10 s idle (Node may return freed heap pages). */
  rssSettledMb: number;
  perf: FloodPerf;
  /** Upstream queries for the popular name caused by asking it once more after the flood (0: served from cache). */
  popularRefetched: number;
  memory?: Record<string, { bytes: number; maxBytes: number; entries: number; evictions: number }>;
  heap?: { beforeGc: NodeJS.MemoryUsage; afterGc?: NodeJS.MemoryUsage };
  /** Live heap before the flood (after a full GC). */
  heapBaseline?: NodeJS.MemoryUsage;
}

type Report = Pick<FloodRun, 'memory' | 'heap'>;

async function floodRun(pid: number, port: number, upstream: UpstreamFixture, file: string, memory?: () => Promise<Report>): Promise<FloodRun> {
  await waitForAnswer(port, POPULAR, performance.now());
  await sleep(1000);
  const heapBaseline = memory ? (await memory()).heap?.afterGc : undefined;
  const rssBeforeMb = rssMb(pid);
  const perf = await dnsperfOnce(port, file);
  const rssAfterMb = rssMb(pid);
  const asked = () => upstream.queries.filter((q) => q.name === POPULAR).length;
  const before = asked();
  await waitForAnswer(port, POPULAR, performance.now());
  const popularRefetched = asked() - before;
  const report = memory ? await memory() : {};
  await sleep(10_000);
  return { rssBeforeMb, rssAfterMb, rssSettledMb: rssMb(pid), perf, popularRefetched, ...report, ...(heapBaseline ? { heapBaseline } : {}) };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dns-flood-'));
  // SOA TTL and MINIMUM of 900 s: every negative answer stays cacheable for the whole run (RFC 2308 §5).
  const upstream = await startUpstreamFixture({ records: { [POPULAR]: [{ type: 'A', data: '198.51.100.7', ttl: 3600 }] }, nxdomainSuffix: ZONE, soa: { ttl: 900, minimum: 900 } });
  const children: ChildProcess[] = [];
  const runs: Record<string, FloodRun> = {};
  try {
    const file = join(dir, 'flood.txt');
    const lines: string[] = [];
    for (let k = 0; k < FLOOD; k++) {
      lines.push(`${k.toString(36)}${Math.random().toString(36).slice(2, 12)}.${ZONE} A`);
      if (k % 100 === 99) lines.push(`${POPULAR} A`);
    }
    writeFileSync(file, `${lines.join('\n')}\n`);

    if (SERVERS.includes('dnsmasq')) {
      const port = await freePort();
      // No --cache-size: dnsmasq's default (150 names).
      const child = spawn('/usr/sbin/dnsmasq', ['-k', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
        '--dns-forward-max=1000', `--server=127.0.0.1#${upstream.port}`], { stdio: 'ignore' });
      children.push(child);
      runs['dnsmasq (default cache)'] = await floodRun(child.pid!, port, upstream, file);
      await stop(child);
    }

    const bundle = join(root, 'node_modules/.cache/gatehouse-bench/gateway-process.mjs');
    mkdirSync(dirname(bundle), { recursive: true });
    await build({ entryPoints: [join(root, 'bench/dns/gateway-process.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: bundle, logLevel: 'error' });
    const gatehouse = async (label: string, dns: object) => {
      const port = await freePort();
      const config = join(dir, `${label}.json`);
      writeFileSync(config, JSON.stringify({
        dns: {
          enabled: true, listen: { address: '127.0.0.1', port }, upstreams: [`127.0.0.1:${upstream.port}`],
          protect: { brands: ['acme', 'gatehouse'], domains: ['acme.com'] }, ...dns,
        },
        queryLog: 'stalled',
      }));
      const child = spawn(process.execPath, [...NODE_FLAGS, bundle, config], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      const lines: string[] = [];
      let pending = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const parts = pending.split('\n');
        pending = parts.pop()!;
        lines.push(...parts);
      });
      const memory = async () => {
        const seen = lines.length;
        child.kill('SIGUSR2');
        while (lines.length === seen) await sleep(20);
        return JSON.parse(lines.at(-1)!) as Report;
      };
      runs[label] = await floodRun(child.pid!, port, upstream, file, memory);
      await stop(child);
    };
    if (SERVERS.includes('gatehouse')) await gatehouse('Gatehouse (memory_budget_mb 64)', {});
    if (SERVERS.includes('gatehouse-unbounded')) await gatehouse('Gatehouse (budget max: count bounds only, as before)', { memory_budget_mb: 65_536 });

    const names = Object.keys(runs);
    const rows: string[][] = [['', ...names]];
    const row = (label: string, cell: (run: FloodRun) => string) => rows.push([label, ...names.map((n) => cell(runs[n]!))]);
    row('RSS before flood MB', (r) => r.rssBeforeMb.toFixed(1));
    row(`RSS after ${FLOOD} unique names MB`, (r) => r.rssAfterMb.toFixed(1));
    row('RSS after 10 s idle MB (Gatehouse: after a full GC)', (r) => r.rssSettledMb.toFixed(1));
    const mb = (bytes: number | undefined) => (bytes === undefined ? '-' : (bytes / 1048576).toFixed(1));
    row('V8 heap used + external MB before flood, after GC', (r) => (r.heapBaseline ? mb(r.heapBaseline.heapUsed + r.heapBaseline.external) : '-'));
    row('V8 heap used + external MB, before GC', (r) => (r.heap ? mb(r.heap.beforeGc.heapUsed + r.heap.beforeGc.external) : '-'));
    row('V8 heap used + external MB, after GC', (r) => (r.heap?.afterGc ? mb(r.heap.afterGc.heapUsed + r.heap.afterGc.external) : '-'));
    row('RSS growth MB', (r) => (r.rssAfterMb - r.rssBeforeMb).toFixed(1));
    row('queries sent / lost', (r) => `${r.perf.sent} / ${r.perf.lost}`);
    row('popular name still cached', (r) => (r.popularRefetched === 0 ? 'yes' : 'no (asked upstream again)'));
    for (const structure of ['answer_cache', 'hot_answers', 'verdict_memo', 'query_log']) {
      row(`${structure} accounted MB (entries, evictions)`, (r) => {
        const use = r.memory?.[structure];
        return use ? `${(use.bytes / 1048576).toFixed(1)} / ${use.maxBytes > 1e12 ? '-' : (use.maxBytes / 1048576).toFixed(1)} (${use.entries}, ${use.evictions})` : '-';
      });
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
    for (const n of names) console.log(`${n} rcodes: ${runs[n]!.perf.rcodes}`);
    const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
    console.log(`flood ${FLOOD} names at ${QPS} qps; machine load average: ${loadavg}`);
    if (names.length !== ALL_SERVERS.length) {
      console.log('partial run (--servers): bench/results/dns-flood.json left as it was');
      return;
    }
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/dns-flood.json'), `${JSON.stringify({
      date: new Date().toISOString(), flood: FLOOD, qps: QPS, gatehouseNodeFlags: NODE_FLAGS, loadavg,
      flood_description: `unique <random>.${ZONE} A queries answered NXDOMAIN + SOA (negative TTL 900 s), ${POPULAR} every 100`,
      runs,
    }, null, 2)}\n`);
  } finally {
    for (const child of children) await stop(child);
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
