/**
 * Every test file's first setup: fails the test that blocks its worker's event loop for too long.
 * A blocked worker cannot answer vitest's RPC, and vitest then fails the whole run with
 * `Timeout calling "onTaskUpdate"` naming no test; this names the test instead, long before that.
 * The limit is a watchdog for synchronous child processes and long CPU loops on the worker thread,
 * not a timing claim: it is far above anything a test does legitimately on a slow day.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';

const LIMIT_MS = Number(process.env.GATEHOUSE_TEST_BLOCK_LIMIT_MS ?? 10_000);
/** Set to print every block above this many ms (to find what is close to the limit). */
const REPORT_MS = Number(process.env.GATEHOUSE_TEST_BLOCK_REPORT_MS ?? Number.POSITIVE_INFINITY);

// A tick every TICK_MS; a gap between two ticks longer than that is time the loop could not run.
// (perf_hooks' monitorEventLoopDelay misses a long synchronous block on Node 20: measured 20 ms for 400.)
const TICK_MS = 50;
interface Watchdog {
  lastTick: number;
  maxGapMs: number;
}
// Test files share a worker (no isolation), and this file runs before each of them: one timer per process.
const WATCHDOG = Symbol.for('gatehouse.test.eventLoopWatchdog');
const holder = globalThis as { [WATCHDOG]?: Watchdog };
const watchdog = (holder[WATCHDOG] ??= (() => {
  const state: Watchdog = { lastTick: performance.now(), maxGapMs: 0 };
  setInterval(() => {
    const now = performance.now();
    state.maxGapMs = Math.max(state.maxGapMs, now - state.lastTick - TICK_MS);
    state.lastTick = now;
  }, TICK_MS).unref();
  return state;
})());

/** Throws, naming `where`, when the loop was blocked longer than `limitMs` since the last check. */
export function checkEventLoopBlocking(where: string, limitMs = LIMIT_MS): void {
  const now = performance.now();
  // The gap still open counts too: a block right before this check has not met a tick yet.
  const blockedMs = Math.max(watchdog.maxGapMs, now - watchdog.lastTick - TICK_MS);
  watchdog.maxGapMs = 0;
  watchdog.lastTick = now;
  if (blockedMs > REPORT_MS) process.stderr.write(`[event-loop] ${where}: blocked ${Math.round(blockedMs)} ms\n`);
  if (blockedMs > limitMs) {
    throw new Error(
      `${where} blocked this test worker's event loop for ${Math.round(blockedMs)} ms (limit ${limitMs} ms): ` +
        'await child processes (spawn/execFile, not spawnSync/execFileSync) and keep long CPU work off the worker thread',
    );
  }
}

beforeEach((context) => checkEventLoopBlocking(`before "${context.task.name}" (the file's setup)`));
afterEach((context) => checkEventLoopBlocking(`"${context.task.name}"`));
afterAll(() => checkEventLoopBlocking('the file\'s teardown'));
