import type { Clock } from '../../lib/clock.js';
import type { MaybePromise } from './age-cache.js';

/**
 * When this gateway first resolved each registrable domain. Not a registration date, but when RDAP
 * is unavailable a name nobody in the organisation had ever looked up before is a useful signal.
 */
export interface FirstSeenStore {
  /** Records `at` unless the domain is already known; returns the first-seen time (ms epoch). */
  recordSeen(domain: string, at: number): MaybePromise<number>;
  /** Since when the table has been recording (ms epoch): earlier than that, "first seen" means nothing. */
  trackingSince(): MaybePromise<number>;
}

export interface MemoryFirstSeenStore extends FirstSeenStore {
  recordSeen(domain: string, at: number): number;
  trackingSince(): number;
  readonly size: number;
}

/**
 * In-memory first-seen table, bounded: when full, the oldest entry goes (it is the least likely to
 * be "new" anyway). Recording starts when the store is created.
 */
export function createMemoryFirstSeenStore(options: { clock: Clock; maxEntries: number; trackingSince?: number }): MemoryFirstSeenStore {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  const since = options.trackingSince ?? options.clock.now();
  const firstSeen = new Map<string, number>();
  return {
    recordSeen(domain, at) {
      const known = firstSeen.get(domain);
      if (known !== undefined) return known;
      firstSeen.set(domain, at);
      while (firstSeen.size > options.maxEntries) {
        const oldest = firstSeen.keys().next();
        if (oldest.done) break;
        firstSeen.delete(oldest.value);
      }
      return at;
    },
    trackingSince: () => since,
    get size() {
      return firstSeen.size;
    },
  };
}
