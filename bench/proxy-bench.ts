/**
 * Access proxy benchmark. One run measures, against the same small upstream (its own process), with
 * wrk (50 connections, 2 threads, --latency): the upstream directly; nginx proxy_pass with a
 * keepalive upstream block; node:http + undici Pool.stream; fastify + @fastify/reply-from;
 * http-proxy; and Gatehouse's proxy path (policy engine with 10 policies + cached JWT assertion +
 * proxy.forward). Each proxy runs alone as its own process, started and stopped by PID.
 *
 *   npx tsx bench/proxy-bench.ts [seconds=10] [rounds=3] [warmupSeconds=3]
 *
 * The machine has 2 cores: wrk, the upstream and the proxy share them, so absolute figures are lower
 * than on a bigger box and the direct figure is bounded by wrk itself. Ratios are the point. Every
 * server stays up for the whole run (an idle one costs nothing) and the targets are measured in
 * interleaved rounds, so a burst of load from elsewhere hits all of them alike; each target's median
 * round is reported. CPU time per request of the proxy process (from /proc, user+system, the proxy
 * process tree only) is reported too: it does not depend on how busy the machine is.
 * Writes bench/results/proxy.json.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SECONDS = Number(process.argv[2] ?? 10);
const ROUNDS = Number(process.argv[3] ?? 3);
const WARMUP = Number(process.argv[4] ?? 3);
const CONNECTIONS = 50;
const OURS = 'gatehouse (10 policies + JWT + forward)';
const THREADS = 2;
const here = dirname(fileURLToPath(import.meta.url));
const started: ChildProcess[] = [];

interface Measurement {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time (user + system) of the measured server process tree per request, in microseconds. */
  cpuUsPerRequest: number | null;
  non2xx: number;
  socketErrors: string | null;
  rssMb: number | null;
}

interface Summary extends Measurement {
  /** Best round: noise from other processes only ever slows a round down. */
  bestRequestsPerSecond: number;
  bestCpuUsPerRequest: number | null;
}

interface Target {
  name: string;
  port: number;
  pid: number | undefined;
  rounds: Measurement[];
}

function stopAll(): void {
  for (const child of started) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

/** Starts a TypeScript server process and waits for its `{"port":N}` line. */
async function startNodeProcess(script: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')} exited with ${code} before listening`)));
  });
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true) as void | undefined);
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.destroy());
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** nginx with its own prefix and config on a high port, in the foreground so its PID is the master's. */
async function startNginx(upstreamPort: number, dir: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  for (const sub of ['logs', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `# one worker: the same single process the Node proxies get
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'tmp')};
  proxy_temp_path ${join(dir, 'tmp')};
  fastcgi_temp_path ${join(dir, 'tmp')};
  uwsgi_temp_path ${join(dir, 'tmp')};
  scgi_temp_path ${join(dir, 'tmp')};
  upstream bench_upstream { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 100000;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'inherit', 'inherit'] });
  started.push(child);
  await waitForPort(port);
  return { child, port };
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

function wrk(port: number, seconds: number): string {
  return execFileSync('wrk', [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/app/page?x=1`], {
    encoding: 'utf8',
  });
}

function rssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

const TICK_US = 1_000_000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** utime + stime of a process and its live children (nginx's worker is a child of its master). */
function cpuTicks(pid: number | undefined): number | null {
  if (!pid) return null;
  const ticksOf = (stat: string): { ppid: number; ticks: number } => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  };
  try {
    let total = ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
      try {
        const child = ticksOf(readFileSync(`/proc/${entry}/stat`, 'utf8'));
        if (child.ppid === pid) total += child.ticks;
      } catch {
        // The process ended while we looked.
      }
    }
    return total;
  } catch {
    return null;
  }
}

function rssMbOfTree(pid: number | undefined): number | null {
  if (!pid) return null;
  const own = rssMb(pid);
  let total = own ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) total += rssMb(Number(entry)) ?? 0;
    } catch {
      // gone
    }
  }
  return own === null ? null : total;
}

function measure(target: Target, seconds: number): Measurement {
  const before = cpuTicks(target.pid);
  const output = wrk(target.port, seconds);
  const after = cpuTicks(target.pid);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
  const latency = (pct: string): number => {
    const match = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
    if (!match) throw new Error(`no ${pct}% line in wrk output for ${target.name}:\n${output}`);
    return toMs(match[1]!, match[2]!);
  };
  return {
    name: target.name,
    requestsPerSecond: Math.round(rps),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    cpuUsPerRequest: before !== null && after !== null && requests > 0 ? Number((((after - before) * TICK_US) / requests).toFixed(1)) : null,
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: /Socket errors:.*$/m.exec(output)?.[0] ?? null,
    rssMb: rssMbOfTree(target.pid),
  };
}

function median<T>(items: T[], by: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => by(a) - by(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const scratch = mkdtempSync(join(os.tmpdir(), 'gatehouse-proxy-bench-'));
const targets: Target[] = [];
let results: Summary[] = [];
try {
  const upstream = await startNodeProcess('proxy/upstream.ts', []);
  const origin = `http://127.0.0.1:${upstream.port}`;
  targets.push({ name: 'direct (no proxy)', port: upstream.port, pid: upstream.child.pid, rounds: [] });
  const nginx = await startNginx(upstream.port, join(scratch, 'nginx'));
  targets.push({ name: 'nginx proxy_pass (1 worker, keepalive)', port: nginx.port, pid: nginx.child.pid, rounds: [] });
  for (const [kind, name] of [
    ['node-undici', 'node:http + undici Pool.stream'],
    ['fastify', 'fastify + @fastify/reply-from'],
    ['http-proxy', 'http-proxy (keep-alive agent)'],
  ] as const) {
    const proxy = await startNodeProcess('proxy/baseline-proxies.ts', [kind, origin]);
    targets.push({ name, port: proxy.port, pid: proxy.child.pid, rounds: [] });
  }
  const forwardOnly = await startNodeProcess('proxy/gatehouse-proxy.ts', [origin, 'forward-only']);
  targets.push({ name: 'gatehouse proxy.forward only', port: forwardOnly.port, pid: forwardOnly.child.pid, rounds: [] });
  const ours = await startNodeProcess('proxy/gatehouse-proxy.ts', [origin, 'full']);
  targets.push({ name: OURS, port: ours.port, pid: ours.child.pid, rounds: [] });

  process.stderr.write(`upstream on ${origin}; ${ROUNDS} rounds x ${SECONDS} s per target (+${WARMUP} s warm-up), ${CONNECTIONS} connections\n`);
  for (const target of targets) wrk(target.port, WARMUP);
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no target always runs right after the same neighbour.
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + round) % targets.length]!;
      const result = measure(target, SECONDS);
      target.rounds.push(result);
      process.stderr.write(
        `  round ${round + 1} ${target.name}: ${result.requestsPerSecond} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${result.cpuUsPerRequest} us CPU/req\n`,
      );
    }
  }
  results = targets.map((target) => ({
    ...median(target.rounds, (r) => r.requestsPerSecond),
    cpuUsPerRequest: median(target.rounds, (r) => r.cpuUsPerRequest ?? 0).cpuUsPerRequest,
    non2xx: target.rounds.reduce((sum, r) => sum + r.non2xx, 0),
    socketErrors: target.rounds.map((r) => r.socketErrors).find((e) => e !== null) ?? null,
    bestRequestsPerSecond: Math.max(...target.rounds.map((r) => r.requestsPerSecond)),
    bestCpuUsPerRequest: Math.min(...target.rounds.map((r) => r.cpuUsPerRequest ?? Number.POSITIVE_INFINITY)),
  }));
} finally {
  stopAll();
  rmSync(scratch, { recursive: true, force: true });
}

const nginxResult = results.find((r) => r.name.startsWith('nginx'))!;
const oursResult = results.find((r) => r.name === OURS)!;
const nodeProxies = results.filter((r) => !r.name.startsWith('nginx') && !r.name.startsWith('gatehouse') && !r.name.startsWith('direct'));
const forwardOnlyResult = results.find((r) => r.name === 'gatehouse proxy.forward only')!;
const checks = {
  throughputVsNginx: Number((oursResult.requestsPerSecond / nginxResult.requestsPerSecond).toFixed(2)),
  bestRoundThroughputVsNginx: Number((oursResult.bestRequestsPerSecond / nginxResult.bestRequestsPerSecond).toFixed(2)),
  bestRoundAheadOfEveryNodeProxy: nodeProxies.every((r) => oursResult.bestRequestsPerSecond > r.bestRequestsPerSecond),
  forwardOnlyVsNginx: Number((forwardOnlyResult.requestsPerSecond / nginxResult.requestsPerSecond).toFixed(2)),
  throughputAtLeastHalfNginx: oursResult.requestsPerSecond >= 0.5 * nginxResult.requestsPerSecond,
  aheadOfEveryNodeProxy: nodeProxies.every((r) => oursResult.requestsPerSecond > r.requestsPerSecond),
  p99VsNginx: Number((oursResult.p99Ms / nginxResult.p99Ms).toFixed(2)),
  p99AtMostTwiceNginx: oursResult.p99Ms <= 2 * nginxResult.p99Ms,
  cpuPerRequestVsNodeUndici: Number(
    ((oursResult.cpuUsPerRequest ?? 0) / (results.find((r) => r.name.startsWith('node:http'))!.cpuUsPerRequest ?? 1)).toFixed(2),
  ),
  allResponses2xx: results.every((r) => r.non2xx === 0 && r.socketErrors === null),
};

const pad = (text: string | number, width: number, right = false): string => (right ? String(text).padStart(width) : String(text).padEnd(width));
const lines = [
  `${pad('target (median round)', 44)} ${pad('req/s', 8, true)} ${pad('p50 ms', 8, true)} ${pad('p99 ms', 8, true)} ${pad('vs nginx', 9, true)} ${pad('CPU us/req', 11, true)} ${pad('best req/s', 11, true)} ${pad('best CPU', 9, true)} ${pad('RSS MB', 7, true)}`,
  ...results.map(
    (r) =>
      `${pad(r.name, 44)} ${pad(r.requestsPerSecond, 8, true)} ${pad(r.p50Ms.toFixed(2), 8, true)} ${pad(r.p99Ms.toFixed(2), 8, true)} ${pad(
        (r.requestsPerSecond / nginxResult.requestsPerSecond).toFixed(2) + 'x',
        9,
        true,
      )} ${pad(r.cpuUsPerRequest ?? '-', 11, true)} ${pad(r.bestRequestsPerSecond, 11, true)} ${pad(r.bestCpuUsPerRequest ?? '-', 9, true)} ${pad(r.rssMb ?? '-', 7, true)}${r.non2xx || r.socketErrors ? `  (non-2xx ${r.non2xx}; ${r.socketErrors ?? ''})` : ''}`,
  ),
];
process.stdout.write(`\n${lines.join('\n')}\n\n${JSON.stringify(checks, null, 2)}\n`);

const output = join(here, 'results', 'proxy.json');
mkdirSync(dirname(output), { recursive: true });
writeFileSync(
  output,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim() },
      setup: {
        seconds: SECONDS,
        rounds: ROUNDS,
        warmupSeconds: WARMUP,
        connections: CONNECTIONS,
        wrkThreads: THREADS,
        note: 'wrk, upstream and proxy share 2 cores; figures are the median round per target',
        loadAverageAtEnd: os.loadavg().map((n) => Number(n.toFixed(2))),
      },
      results,
      rounds: targets.map((target) => ({ name: target.name, rounds: target.rounds })),
      checks,
    },
    null,
    2,
  )}\n`,
);
process.stderr.write(`wrote ${output}\n`);
