/**
 * Credentials benchmark: requests through the access proxy of a complete Gatehouse authenticated by a
 * service token (verify: one SHA-256 and two constant-time compares; policy; the token's cached JWT;
 * last use recorded in memory) against the same requests authenticated by a browser session (app
 * session cookie; policy; the person's cached JWT), in the same run, to the same upstream, with wrk (50
 * connections, 2 threads). The two are measured in interleaved rounds so load from elsewhere hits both
 * alike; each one's median round is reported, with CPU time per request of the Gatehouse process.
 *
 *   npx tsx bench/credentials-bench.ts [seconds=10] [rounds=3] [warmupSeconds=3]
 *
 * Writes bench/results/credentials.json.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SECONDS = Number(process.argv[2] ?? 10);
const ROUNDS = Number(process.argv[3] ?? 3);
const WARMUP = Number(process.argv[4] ?? 3);
const CONNECTIONS = 50;
const THREADS = 2;
const here = dirname(fileURLToPath(import.meta.url));
const started: ChildProcess[] = [];

process.on('exit', () => {
  for (const child of started) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
});
process.on('SIGINT', () => process.exit(130));

async function startNodeProcess<T>(script: string, args: string[]): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
  });
  return { child, ready: JSON.parse(line) as T };
}

const TICK_US = 1_000_000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
function cpuTicks(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

const toMs = (value: string, unit: string) => (unit === 'us' ? Number(value) / 1000 : unit === 's' ? Number(value) * 1000 : Number(value));

interface Measurement {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number | null;
  non2xx: number;
}

interface Target {
  name: string;
  headers: string[];
  rounds: Measurement[];
}

function wrk(port: number, host: string, headers: string[], seconds: number): string {
  const flags = [`Host: ${host}`, ...headers].flatMap((h) => ['-H', h]);
  return execFileSync('wrk', [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...flags, `http://127.0.0.1:${port}/page?x=1`], { encoding: 'utf8' });
}

function measure(target: Target, port: number, host: string, pid: number | undefined, seconds: number): Measurement {
  const before = cpuTicks(pid);
  const output = wrk(port, host, target.headers, seconds);
  const after = cpuTicks(pid);
  const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
  const latency = (pct: string) => {
    const match = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
    if (!match) throw new Error(`no ${pct}% line in wrk output for ${target.name}:\n${output}`);
    return toMs(match[1]!, match[2]!);
  };
  return {
    name: target.name,
    requestsPerSecond: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1])),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    cpuUsPerRequest: before !== null && after !== null && requests > 0 ? Number((((after - before) * TICK_US) / requests).toFixed(1)) : null,
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
  };
}

const median = (items: Measurement[]) => [...items].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor((items.length - 1) / 2)]!;

const upstream = await startNodeProcess<{ port: number }>('proxy/upstream.ts', []);
const gatehouse = await startNodeProcess<{ port: number; host: string; clientId: string; secret: string; cookie: string }>('credentials/gatehouse-server.ts', [`http://127.0.0.1:${upstream.ready.port}`]);
const { port, host, clientId, secret, cookie } = gatehouse.ready;
const targets: Target[] = [
  { name: 'browser session (app cookie)', headers: [`Cookie: ${cookie}`], rounds: [] },
  { name: 'service token (client id + secret)', headers: [`Gatehouse-Client-Id: ${clientId}`, `Gatehouse-Client-Secret: ${secret}`], rounds: [] },
];
for (const target of targets) measure(target, port, host, gatehouse.child.pid, WARMUP);
for (let round = 0; round < ROUNDS; round++) {
  for (const target of round % 2 === 0 ? targets : [...targets].reverse()) target.rounds.push(measure(target, port, host, gatehouse.child.pid, SECONDS));
}
const results = targets.map((t) => ({ ...median(t.rounds), bestRequestsPerSecond: Math.max(...t.rounds.map((r) => r.requestsPerSecond)), rounds: t.rounds.map((r) => r.requestsPerSecond) }));
const [session, token] = results as [(typeof results)[number], (typeof results)[number]];
const ratio = Number((token.requestsPerSecond / session.requestsPerSecond).toFixed(3));

const rows = results.map((r) => [r.name, String(r.requestsPerSecond), String(r.bestRequestsPerSecond), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), String(r.cpuUsPerRequest ?? '-'), String(r.non2xx)]);
const header = ['path', 'req/s (median)', 'req/s (best)', 'p50 ms', 'p99 ms', 'CPU µs/req', 'non-2xx'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}\n`);
process.stdout.write(`token / session throughput: ${ratio} (target >= 0.9)\n`);

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'credentials.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown' }, seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, results, tokenToSessionRatio: ratio, note: 'wrk, upstream and Gatehouse share the machine; median round per path' }, null, 2)}\n`,
);
process.exit(0);
