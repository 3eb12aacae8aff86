/**
 * The gateway as its own process for the benchmark (the same code a deployment runs): argv[2] is a
 * JSON file `{ dns, protect? }`. Prints one JSON line once listening, then serves until SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { dnsConfigSchema } from '../../src/config/sections/dns.js';
import { createDnsGateway, type Verdict } from '../../src/dns/index.js';
import { createLookalikeDetector } from '../../src/intel/lookalike/index.js';

const started = performance.now();
const cpuAtStart = process.cpuUsage();
const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { dns: unknown };
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
const gateway = createDnsGateway({
  config,
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
process.on('SIGTERM', () => {
  void gateway.stop().then(() => process.exit(0));
});
