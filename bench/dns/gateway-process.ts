/**
 * The gateway as its own process for the benchmark (the same code a deployment runs): argv[2] is a
 * JSON file `{ dns, protect?, queryLog? }`. Prints one JSON line once listening, then serves until
 * SIGTERM; on SIGUSR2 prints one more line, `{ memory, heap }`: the accounted bytes of each structure
 * bounded by `dns.memory_budget_mb`, and process.memoryUsage() before and (when node runs with
 * --expose-gc) after a full collection, to tell live memory from garbage the heap has not returned.
 *
 * `queryLog: "stalled"` adds the query log ring with a database that never finishes a write: the worst
 * case for its memory, where every row waits in the ring until the byte budget drops it.
 */
import { readFileSync } from 'node:fs';
import { dnsConfigSchema } from '../../src/config/index.js';
import { createDnsGateway, type Verdict } from '../../src/dns/index.js';
import { splitMemoryBudget } from '../../src/dns/memory-budget.js';
import { QueryLogWriter } from '../../src/dns/query-log-writer.js';
import type { Store } from '../../src/store/index.js';
import { createLookalikeDetector } from '../../src/intel/lookalike/index.js';

const started = performance.now();
const cpuAtStart = process.cpuUsage();
const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { dns: unknown; queryLog?: 'stalled' };
const config = dnsConfigSchema.parse(input.dns);
// The lookalike detector is another engineer's module: if it cannot be built, run without the hook
// and say so in the ready line rather than lose the whole benchmark.
let lookalikeError: string | undefined;
let detector: ReturnType<typeof createLookalikeDetector> | undefined;
try {
  detector = config.protect ? createLookalikeDetector(config.protect) : undefined;
} catch (error) {
  lookalikeError = (error as Error).message;
}
const allow: Verdict = { action: 'allow' };
const stalledStore = { db: { insertInto: () => ({ values: () => ({ execute: () => new Promise(() => undefined) }) }) } } as unknown as Store;
const queryLog = input.queryLog === 'stalled'
  ? new QueryLogWriter({
      store: stalledStore, now: () => Date.now(), flushIntervalMs: config.query_log.flush_interval_ms, maxBuffer: config.query_log.max_buffer,
      maxBytes: splitMemoryBudget(config.memory_budget_mb).queryLogBytes, retentionDays: 1, onError: () => undefined,
    })
  : undefined;
queryLog?.start();
const gateway = createDnsGateway({
  config,
  ...(queryLog ? { queryLog } : {}),
  ...(detector
    ? {
        classify: (name: string): Verdict => {
          const result = detector.check(name);
          return result.lookalike
            ? { action: 'block', reasons: [{ code: 'lookalike' }], humanReason: `looks like ${result.brand ?? 'a protected brand'}` }
            : allow;
        },
      }
    : {}),
});
const ports = await gateway.start();
const state = gateway.listState();
process.stdout.write(`${JSON.stringify({
  ...ports,
  startMs: Math.round(performance.now() - started),
  // CPU time is what the load costs; wall time also counts waiting for a core on a busy machine.
  startCpuMs: Math.round((process.cpuUsage(cpuAtStart).user + process.cpuUsage(cpuAtStart).system) / 1000),
  loadMs: state.sources.reduce((sum, s) => sum + (s.loadMs ?? 0), 0),
  entries: state.sources.reduce((sum, s) => sum + s.entries, 0),
  lookalike: detector !== undefined,
  ...(lookalikeError ? { lookalikeError } : {}),
})}\n`);
process.on('SIGUSR2', () => {
  const beforeGc = process.memoryUsage();
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) for (let k = 0; k < 3; k++) gc();
  const heap = { beforeGc, ...(gc ? { afterGc: process.memoryUsage() } : {}) };
  process.stdout.write(`${JSON.stringify({ memory: gateway.listState().memory, heap })}\n`);
});
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
