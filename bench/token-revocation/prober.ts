/**
 * The HTTP client of the token revocation benchmark, in its own process so that its requests never
 * share an event loop with instance A, whose call is being timed. It answers JSON lines on stdin:
 *
 *   {"id":1,"op":"define","set":"tokens","probes":[{header: value}, ...]}
 *   {"id":2,"op":"warm","set":"tokens","accepted":200}             → {"id":2,"sweepMs":N}
 *   {"id":3,"op":"sweep","set":"tokens","accepted":200,"refused":403} → {"id":3,"started":true} then the result
 *   {"id":4,"op":"until","probe":{...},"refused":403}                 → {"id":4,"started":true} then {"id":4,"refusedAt":T}
 *
 * Times are CLOCK_MONOTONIC milliseconds (`process.hrtime`), the same clock in every process on the
 * machine, so the parent subtracts the moment of its call. Everything goes to 127.0.0.1.
 * argv: <port of instance B> <Host header>
 */
import { createInterface } from 'node:readline';
import { Pool } from 'undici';

const port = Number(process.argv[2]);
const host = process.argv[3]!;
const CONCURRENCY = 64;
const LIMIT_MS = 60_000;
type Probe = Record<string, string>;

const now = () => Number(process.hrtime.bigint()) / 1e6;
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1 });
const single = new Pool(`http://127.0.0.1:${port}`, { connections: 1, pipelining: 1 });
const sets = new Map<string, Probe[]>();

async function status(client: Pool, headers: Probe): Promise<number> {
  const res = await client.request({ method: 'GET', path: '/', headers: { host: `${host}:${port}`, ...headers } });
  await res.body.dump();
  return res.statusCode;
}

/** One pass over `indices`, CONCURRENCY at a time; `seen` gets each answer and when it arrived. */
async function pass(probes: Probe[], indices: number[], seen: (i: number, status: number, at: number) => void): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < indices.length) {
      const i = indices[next++]!;
      const code = await status(pool, probes[i]!);
      seen(i, code, now());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function warm(probes: Probe[], accepted: number): Promise<{ sweepMs: number }> {
  const all = probes.map((_, i) => i);
  for (let attempt = 0; ; attempt++) {
    const start = now();
    let refused = 0;
    await pass(probes, all, (_i, code) => {
      if (code !== accepted) refused++;
    });
    if (refused === 0) return { sweepMs: now() - start };
    if (attempt === 50) throw new Error(`${refused} of ${probes.length} still not accepted`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Sends every credential still accepted until each one has been refused. */
async function sweep(probes: Probe[], accepted: number, refused: number) {
  let remaining = probes.map((_, i) => i);
  let lastRefusedAt = Number.NaN;
  let lastAcceptedAt = Number.NaN;
  let sweeps = 0;
  let requests = 0;
  let unexpected = 0;
  const start = now();
  while (remaining.length > 0 && now() - start < LIMIT_MS) {
    sweeps++;
    const still: number[] = [];
    await pass(probes, remaining, (i, code, at) => {
      requests++;
      if (code === refused) lastRefusedAt = Number.isNaN(lastRefusedAt) ? at : Math.max(lastRefusedAt, at);
      else {
        if (code === accepted) lastAcceptedAt = Number.isNaN(lastAcceptedAt) ? at : Math.max(lastAcceptedAt, at);
        else unexpected++;
        still.push(i);
      }
    });
    remaining = still;
  }
  return { lastRefusedAt, lastAcceptedAt, sweeps, requests, notRefused: remaining.length, unexpected };
}

async function until(probe: Probe, refused: number): Promise<{ refusedAt: number }> {
  const start = now();
  while (now() - start < LIMIT_MS) if ((await status(single, probe)) === refused) return { refusedAt: now() };
  return { refusedAt: Number.NaN };
}

const reply = (value: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(value)}\n`);

interface Command {
  id: number;
  op: 'define' | 'warm' | 'sweep' | 'until';
  set?: string;
  probes?: Probe[];
  probe?: Probe;
  accepted?: number;
  refused?: number;
}

async function run(command: Command): Promise<Record<string, unknown>> {
  const probes = () => {
    const set = sets.get(command.set ?? '');
    if (!set) throw new Error(`no probe set ${command.set}`);
    return set;
  };
  switch (command.op) {
    case 'define':
      sets.set(command.set!, command.probes!);
      return { defined: command.probes!.length };
    case 'warm':
      return warm(probes(), command.accepted!);
    case 'sweep': {
      // The first requests go out at once; the parent starts its call when it reads `started`.
      const result = sweep(probes(), command.accepted!, command.refused!);
      reply({ id: command.id, started: true });
      return result;
    }
    case 'until': {
      const result = until(command.probe!, command.refused!);
      reply({ id: command.id, started: true });
      return result;
    }
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as Command;
  run(command).then(
    (result) => reply({ id: command.id, ...result }),
    (error: unknown) => reply({ id: command.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.stdin.on('end', () => void Promise.all([pool.close(), single.close()]).then(() => process.exit(0)));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
