import type { Dispatcher } from 'undici';
import type { Clock } from '../../lib/clock.js';
import { loadDomainFeed, type DomainFeedLoad } from './nrd-feed.js';
import type { NrdIndex } from './nrd-index.js';

export interface NrdFeedRefresherOptions {
  sources: readonly string[];
  index: NrdIndex;
  clock: Clock;
  refreshHours: number;
  maxBytes: number;
  timeoutMs: number;
  dispatcher?: Dispatcher;
  /** Told about every load, good or bad (logging, metrics). */
  onResult?: (result: DomainFeedLoad) => void;
}

export interface NrdFeedRefresher {
  /** Loads every feed now; a feed that fails keeps its previous contents in the index. */
  refreshAll(): Promise<DomainFeedLoad[]>;
  /** Periodic refresh; nothing runs until this is called (no import-time side effects). */
  start(): void;
  /** Stops the timer and waits for a refresh in progress. */
  stop(): Promise<void>;
}

export function createNrdFeedRefresher(options: NrdFeedRefresherOptions): NrdFeedRefresher {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<DomainFeedLoad[]> | undefined;

  async function loadAll(): Promise<DomainFeedLoad[]> {
    const results: DomainFeedLoad[] = [];
    // One feed at a time: feeds can be large and the DNS path shares this event loop.
    for (const source of options.sources) {
      const result = await loadDomainFeed(source, {
        maxBytes: options.maxBytes,
        timeoutMs: options.timeoutMs,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      if (result.ok) options.index.replaceFeed(source, result.domains, options.clock.now());
      try {
        options.onResult?.(result);
      } catch {
        // A failing log hook must not stop the other feeds or reject a timer refresh.
      }
      results.push(result);
    }
    return results;
  }

  const refreshAll = (): Promise<DomainFeedLoad[]> => {
    running ??= loadAll().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    refreshAll,
    start() {
      if (timer || options.sources.length === 0) return;
      void refreshAll();
      timer = setInterval(() => void refreshAll(), options.refreshHours * 3_600_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
