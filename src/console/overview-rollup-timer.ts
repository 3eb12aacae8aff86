import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import type { Database } from '../store/index.js';
import { rollUpOverview } from './overview-rollups.js';

export interface RollupTimerOptions {
  db: Kysely<Database>;
  clock: Clock;
  /** Between passes when caught up. */
  intervalMs?: number;
  /** Between passes while completed buckets still wait (a catch-up after a stop). */
  catchUpMs?: number;
  onError?: (error: unknown) => void;
}

export interface RollupTimer {
  /** Stops the timer and waits for a pass in flight, so the store can close after it. */
  stop(): Promise<void>;
}

/**
 * Rolls the overview's counts off the request path: one bounded pass now, then one a minute (sooner
 * while behind). Passes never overlap; a failed pass is reported and retried on the next tick.
 */
export function startOverviewRollups(options: RollupTimerOptions): RollupTimer {
  const { db, clock, intervalMs = 60_000, catchUpMs = 1_000, onError = () => {} } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  const tick = () => {
    timer = undefined;
    running = rollUpOverview(db, clock.now())
      .then(
        (pass) => schedule(pass.behind ? catchUpMs : intervalMs),
        (error: unknown) => {
          onError(error);
          schedule(intervalMs);
        },
      )
      .finally(() => {
        running = undefined;
      });
  };
  schedule(0);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
