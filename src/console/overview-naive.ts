import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { bucketsOf, OVERVIEW_RANGES, tabulate, type OverviewRange, type OverviewSeries } from './overview-range.js';
import { countRawSeries } from './overview-sources.js';

/**
 * The overview's series computed the naive way, grouping every raw row of the range on each call.
 * Not on the page's path: the bench measures it against the rollups, and a test proves both give
 * the same series (the rollups' correctness check, late rows included).
 */
export async function overviewNaive(db: Kysely<Database>, range: OverviewRange, now: number): Promise<OverviewSeries> {
  const buckets = bucketsOf(range, now);
  return tabulate(range, buckets, await countRawSeries(db, buckets[0]!, now + 1, OVERVIEW_RANGES[range].bucketMs));
}
