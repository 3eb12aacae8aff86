/** The watchdog that names a test blocking its worker: it must fire on a block, and stay quiet otherwise. */
import { expect, it } from 'vitest';
import { checkEventLoopBlocking } from './event-loop-watchdog.js';

/** What spawnSync or a long synchronous loop does to the worker: nothing else runs meanwhile. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const nextTurns = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 25));
};

it('names the code that blocked the event loop beyond the limit', async () => {
  checkEventLoopBlocking('before'); // start from a clean measurement
  blockFor(400);
  await nextTurns(); // the delayed timer tick is what the histogram records
  expect(() => checkEventLoopBlocking('a synchronous child process', 200)).toThrow(/^a synchronous child process blocked this test worker's event loop for \d+ ms \(limit 200 ms\)/);
});

it('stays quiet when the loop keeps turning', async () => {
  checkEventLoopBlocking('before');
  await nextTurns();
  expect(() => checkEventLoopBlocking('an awaited wait', 200)).not.toThrow();
});
