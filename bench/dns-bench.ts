/**
 * DNS gateway vs dnsmasq with the same 1,000,000-name blocklist, both forwarding other names to the
 * same local upstream fixture. Measures dnsperf QPS (bounded run), RSS after load and after the run
 * (/proc/PID/status VmRSS), and list load time. Prints a table and writes bench/results/dns.json.
 *
 *   npx tsx bench/dns-bench.ts [--names 1000000] [--seconds 10] [--servers dnsmasq,dnsmasq-a,gatehouse]
 *                              [--mixes mixed,blocked,allowed] [--node-flags '--max-semi-space-size=2']
 *
 * Besides QPS it reports each server's CPU time per answered query (utime + stime of the server
 * process from /proc/PID/stat, all threads): on a shared 2-core machine dnsperf and other work compete
 * for the cores, so CPU per query is the steadier figure. A run with --servers or --mixes narrowed is
 * for profiling: it prints the table but does not overwrite bench/results/dns.json.
 *
 * The gateway runs as plain `node` on an esbuild bundle of bench/dns/gateway-process.ts (what a
 * compiled deployment runs), not under tsx, so its RSS has no loader overhead in it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { startUpstreamFixture } from '../src/dns/test-support/upstream-fixture.js';
import { cpuUs, freePort, rssMb, stop, waitForAnswer } from './dns/bench-process.js';
import { generateBlocklist, pickRandom } from './dns/blocklist-generator.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const NAMES = arg('names', 1_000_000);
/**
 * V8's young generation grows to 3 x 16 MiB semi-spaces under the per-query garbage of a busy server;
 * a DNS process gains nothing from that and keeps ~25 MB less resident with 2 MiB semi-spaces
 * (measured here: 111 MB -> 86 MB after the runs). `--node-flags ''` measures the default.
 */
const nodeFlagsArg = process.argv.indexOf('--node-flags');
const NODE_FLAGS = (nodeFlagsArg > 0 ? process.argv[nodeFlagsArg + 1]! : '--max-semi-space-size=2').split(' ').filter(Boolean);
const SECONDS = arg('seconds', 10);
const listArg = (name: string, all: readonly string[]) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return [...all];
  const chosen = process.argv[i + 1]!.split(',');
  for (const c of chosen) if (!all.includes(c)) throw new Error(`--${name}: unknown "${c}" (one of ${all.join(', ')})`);
  return chosen;
};
const ALL_SERVERS = ['dnsmasq', 'dnsmasq-a', 'gatehouse'] as const;
const ALL_MIXES = ['mixed', 'blocked', 'allowed'] as const;
const SERVERS = listArg('servers', ALL_SERVERS);
const MIXES = listArg('mixes', ALL_MIXES);
const FULL_RUN = SERVERS.length === ALL_SERVERS.length && MIXES.length === ALL_MIXES.length;

interface PerfResult { qps: number; lost: number; sent: number; avgLatencyMs: number; rcodes: string; cpuUsPerQuery?: number }

function dnsperf(port: number, file: string, seconds: number): Promise<PerfResult> {
  return new Promise((resolve, reject) => {
    execFile('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-q', '200', '-c', '4', '-T', '1'],
      { timeout: (seconds + 30) * 1000 }, (error, stdout) => {
        if (error) return reject(error);
        const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
        resolve({
          qps: num(/Queries per second:\s+([\d.]+)/),
          sent: num(/Queries sent:\s+(\d+)/),
          lost: num(/Queries lost:\s+(\d+)/),
          avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
          rcodes: /Response codes:\s+(.*)/.exec(stdout)?.[1] ?? '',
        });
      });
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dns-bench-'));
  const upstream = await startUpstreamFixture({ wildcardTtl: 3600 });
  const children: ChildProcess[] = [];
  const DNSMASQ_PORT = await freePort();
  const GATEWAY_PORT = await freePort();
  try {
    const t = performance.now();
    const names = generateBlocklist(NAMES);
    writeFileSync(join(dir, 'blocklist.hosts'), names.map((n) => `0.0.0.0 ${n}`).join('\n') + '\n');
    writeFileSync(join(dir, 'dnsmasq.conf'), names.flatMap((n) => [`address=/${n}/0.0.0.0`, `address=/${n}/::`]).join('\n') + '\n');
    const blocked = pickRandom(names, 50_000, 7);
    const blockedQueries = [
      ...blocked.slice(0, 40_000).map((n, i) => `${n} ${i % 5 === 0 ? 'AAAA' : 'A'}`),
      ...blocked.slice(40_000).map((n) => `cdn.${n} A`),
    ];
    const allowedQueries = Array.from({ length: 50_000 }, (_, i) => `host${i % 5000}.allowed-${i % 50}.bench.test ${i % 5 === 0 ? 'AAAA' : 'A'}`);
    const mixes: Record<string, string> = Object.fromEntries(MIXES.map((mix) => [mix, join(dir, `${mix}.txt`)]));
    const mixQueries: Record<string, () => string[]> = {
      mixed: () => pickRandom([...blockedQueries, ...allowedQueries], 100_000, 11),
      blocked: () => pickRandom(blockedQueries, 50_000, 12),
      allowed: () => pickRandom(allowedQueries, 50_000, 13),
    };
    for (const [mix, file] of Object.entries(mixes)) writeFileSync(file, mixQueries[mix]!().join('\n') + '\n');
    writeFileSync(join(dir, 'dnsmasq-a.conf'), names.map((n) => `address=/${n}/0.0.0.0`).join('\n') + '\n');
    console.log(`generated ${NAMES} names and the query files in ${Math.round(performance.now() - t)} ms (${dir})`);

    interface GatewayInfo { loadMs: number; startMs: number; startCpuMs: number; entries: number; lookalike: boolean; lookalikeError?: string }
    interface ServerRun { readyMs: number; rssLoadedMb: number; rssAfterMb: number; perf: Record<string, PerfResult>; extra?: object }
    const runAll = async (pid: number, port: number, readyMs: number, extra?: object): Promise<ServerRun> => {
      const rssLoadedMb = rssMb(pid);
      const perf: Record<string, PerfResult> = {};
      for (const [mix, file] of Object.entries(mixes)) {
        await dnsperf(port, file, 2); // warm the cache
        const cpuBefore = cpuUs(pid);
        const result = await dnsperf(port, file, SECONDS);
        result.cpuUsPerQuery = (cpuUs(pid) - cpuBefore) / Math.max(1, result.sent - result.lost);
        perf[mix] = result;
      }
      return { readyMs, rssLoadedMb, rssAfterMb: rssMb(pid), perf, ...(extra ? { extra } : {}) };
    };
    const runDnsmasq = async (listConf: string): Promise<ServerRun> => {
      const start = performance.now();
      const child = spawn('dnsmasq', ['-k', `--port=${DNSMASQ_PORT}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
        '--cache-size=10000', '--dns-forward-max=1000', `--server=127.0.0.1#${upstream.port}`, `--conf-file=${listConf}`], { stdio: 'ignore' });
      children.push(child);
      const readyMs = await waitForAnswer(DNSMASQ_PORT, names[0]!, start);
      const run = await runAll(child.pid!, DNSMASQ_PORT, readyMs);
      await stop(child);
      return run;
    };

    const runs: Record<string, ServerRun> = {};
    // PITFALLS: with only `address=/name/0.0.0.0`, AAAA for a listed name is REFUSED; the `::` lines make
    // dnsmasq answer like the gateway does, at about twice the memory. Both are measured.
    if (SERVERS.includes('dnsmasq')) runs['dnsmasq (A+AAAA)'] = await runDnsmasq(join(dir, 'dnsmasq.conf'));
    if (SERVERS.includes('dnsmasq-a')) runs['dnsmasq (A only)'] = await runDnsmasq(join(dir, 'dnsmasq-a.conf'));

    // Gatehouse gateway, bundled and run with plain node
    let info: GatewayInfo | undefined;
    let emptyRssMb = NaN;
    if (SERVERS.includes('gatehouse')) {
      const bundle = join(root, 'node_modules/.cache/gatehouse-bench/gateway-process.mjs');
      mkdirSync(dirname(bundle), { recursive: true });
      await build({ entryPoints: [join(root, 'bench/dns/gateway-process.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: bundle, logLevel: 'error' });
      writeFileSync(join(dir, 'gateway.json'), JSON.stringify({
        dns: {
          enabled: true, listen: { address: '127.0.0.1', port: GATEWAY_PORT },
          upstreams: [`127.0.0.1:${upstream.port}`],
          blocklists: [{ name: 'bench', path: join(dir, 'blocklist.hosts'), format: 'hosts', refresh_interval_s: 0 }],
          block_response: 'block_page', block_page: { ipv4: '0.0.0.0', ipv6: '::' },
          cache: { max_entries: 10_000 },
          protect: { brands: ['acme', 'gatehouse'], domains: ['acme.com'] },
        },
      }));
      const spawnGateway = async (configFile: string) => {
        const child = spawn(process.execPath, [...NODE_FLAGS, bundle, configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(child);
        const ready = await new Promise<GatewayInfo>((resolve, reject) => {
          let out = '';
          child.stdout!.on('data', (chunk) => {
            out += chunk;
            if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
          });
          child.once('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
        });
        return { child, info: ready };
      };
      // The same process with no list: what the runtime and modules cost before any name is loaded.
      writeFileSync(join(dir, 'gateway-empty.json'), JSON.stringify({
        dns: { enabled: true, listen: { address: '127.0.0.1', port: GATEWAY_PORT }, upstreams: [`127.0.0.1:${upstream.port}`], protect: { brands: ['acme'], domains: ['acme.com'] } },
      }));
      const empty = await spawnGateway(join(dir, 'gateway-empty.json'));
      await waitForAnswer(GATEWAY_PORT, 'warm.bench.test', performance.now());
      emptyRssMb = rssMb(empty.child.pid!);
      await stop(empty.child);

      const start = performance.now();
      const spawned = await spawnGateway(join(dir, 'gateway.json'));
      info = spawned.info;
      const gatewayReady = await waitForAnswer(GATEWAY_PORT, names[0]!, start);
      runs.Gatehouse = await runAll(spawned.child.pid!, GATEWAY_PORT, gatewayReady, info);
      await stop(spawned.child);
    }

    const servers = Object.keys(runs);
    const g = runs.Gatehouse;
    const base = runs['dnsmasq (A+AAAA)'];
    const aOnly = runs['dnsmasq (A only)'];
    const ratio = (value: (run: ServerRun) => number, suffix: string) => (g && base ? `${(value(g) / value(base)).toFixed(2)}x${suffix}` : '');
    const rows: string[][] = [['', ...servers, 'Gatehouse / dnsmasq (A+AAAA)']];
    for (const mix of Object.keys(mixes)) {
      const perf = (run: ServerRun) => run.perf[mix]!;
      rows.push([`QPS ${mix}`, ...servers.map((n) => perf(runs[n]!).qps.toFixed(0)), ratio((r) => perf(r).qps, ' (target >= 0.6x)')]);
      rows.push([`  CPU us/query`, ...servers.map((n) => perf(runs[n]!).cpuUsPerQuery!.toFixed(2)), ratio((r) => perf(r).cpuUsPerQuery!, '')]);
      rows.push([`  avg latency ms`, ...servers.map((n) => perf(runs[n]!).avgLatencyMs.toFixed(2)), '']);
      rows.push([`  lost`, ...servers.map((n) => String(perf(runs[n]!).lost)), '']);
    }
    rows.push(['RSS after load MB', ...servers.map((n) => runs[n]!.rssLoadedMb.toFixed(1)), '']);
    rows.push(['RSS after runs MB', ...servers.map((n) => runs[n]!.rssAfterMb.toFixed(1)),
      ratio((r) => r.rssAfterMb, g && aOnly ? `; vs A-only ${(g.rssAfterMb / aOnly.rssAfterMb).toFixed(2)}x (target <= 1x)` : ' (target <= 1x)')]);
    rows.push(['spawn to first answer ms', ...servers.map((n) => runs[n]!.readyMs.toFixed(0)), '']);
    if (g && info) {
      const loaded = info;
      rows.push(['RSS with no list MB', ...servers.map((n) => (n === 'Gatehouse' ? emptyRssMb.toFixed(1) : '-')), `list costs ${(g.rssLoadedMb - emptyRssMb).toFixed(1)} MB`]);
      rows.push(['list load wall ms (in process)', ...servers.map((n) => (n === 'Gatehouse' ? String(loaded.loadMs) : '-')), 'target < 1000']);
      rows.push(['start CPU ms (load included)', ...servers.map((n) => (n === 'Gatehouse' ? String(loaded.startCpuMs) : '-')), '']);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
    const firstMix = Object.keys(mixes)[0]!;
    for (const n of servers) console.log(`${n} rcodes (${firstMix}): ${runs[n]!.perf[firstMix]!.rcodes}`);
    if (info) {
      console.log(`Gatehouse node flags: ${NODE_FLAGS.join(' ') || '(none)'}`);
      console.log(`lookalike hook: ${info.lookalike ? 'on' : `off (${info.lookalikeError ?? 'not configured'})`}`);
    }
    console.log(`machine load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);

    if (!FULL_RUN || !g || !base || !aOnly) {
      console.log('partial run (--servers / --mixes): bench/results/dns.json left as it was');
      return;
    }
    const results = {
      date: new Date().toISOString(), names: NAMES, seconds: SECONDS, gatehouseNodeFlags: NODE_FLAGS, loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
      mixes: {
        mixed: '50% blocked (40% listed names, 1 in 5 AAAA; 10% subdomains of listed names), 50% allowed (5,000 distinct, cached)',
        blocked: 'the blocked half only', allowed: 'the allowed half only (answered from cache after warm-up)',
      },
      runs,
      gatehouseRssWithNoListMb: emptyRssMb,
      ratios: {
        qps: Object.fromEntries(Object.keys(mixes).map((m) => [m, g.perf[m]!.qps / base.perf[m]!.qps])),
        cpuPerQuery: Object.fromEntries(Object.keys(mixes).map((m) => [m, g.perf[m]!.cpuUsPerQuery! / base.perf[m]!.cpuUsPerQuery!])),
        rssVsDnsmasqAAndAAAA: g.rssAfterMb / base.rssAfterMb,
        rssVsDnsmasqAOnly: g.rssAfterMb / aOnly.rssAfterMb,
      },
    };
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/dns.json'), JSON.stringify(results, null, 2) + '\n');
  } finally {
    for (const child of children) await stop(child);
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
