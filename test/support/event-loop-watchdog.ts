/**
 * Every test file's first setup: fails the test that blocks its worker's event loop for too long.
 * A blocked worker cannot answer vitest's RPC, and vitest then fails the whole run with
 * `Timeout calling "onTaskUpdate"` naming no test; this names the test instead, long before that.
 * The limit is a watchdog for synchronous child processes and long CPU loops on the worker thread,
 * not a timing claim: it is far above anything a test does legitimately on a slow day.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeEach } from 'vitest';

const LIMIT_MS = Number(process.env.GATEHOUSE_TEST_BLOCK_LIMIT_MS ?? 10_000);
/** Set to print every block above this many ms (to find what is close to the limit). */
const REPORT_MS = Number(process.env.GATEHOUSE_TEST_BLOCK_REPORT_MS ?? Number.POSITIVE_INFINITY);

const delay = monitorEventLoopDelay({ resolution: 20 });
delay.enable();

function check(where: string): void {
  const blockedMs = delay.max / 1e6;
  delay.reset();
  if (blockedMs > REPORT_MS) process.stderr.write(`[event-loop] ${where}: blocked ${Math.round(blockedMs)} ms\n`);
  if (blockedMs > LIMIT_MS) {
    throw new Error(
      `${where} blocked this test worker's event loop for ${Math.round(blockedMs)} ms (limit ${LIMIT_MS} ms): ` +
        'await child processes (spawn/execFile, not spawnSync/execFileSync) and keep long CPU work off the worker thread',
    );
  }
}

beforeEach((context) => check(`before "${context.task.name}" (the file's setup)`));
afterEach((context) => check(`"${context.task.name}"`));
afterAll(() => check('the file\'s teardown'));
