import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { bucketsOf, OVERVIEW_RANGES, tabulate, type OverviewRange, type OverviewSeries } from './overview-range.js';
import { GRAINS, rollupMark } from './overview-rollups.js';
import { countRawSeries, type OverviewSeriesName, type SeriesCount } from './overview-sources.js';

/**
 * The most raw time the page counts live. Normally the part after the rollup mark is under an hour
 * and a few minutes; if the rollup timer is far behind (first start on a big database) the page
 * stays fast and says which part is still being rolled up instead of grouping the raw tables.
 */
const LIVE_LIMIT_MS = 3 * 3_600_000;

export interface Overview extends OverviewSeries {
  /** When the counts were read (the end of the last bucket so far). */
  now: number;
  /** Completed buckets up to here come from rollups; the rest is counted live from the raw rows. */
  rolledTo: number | null;
  /** Counts between `missing.from` and `missing.to` are not rolled up yet (the timer is catching up). */
  missing: { from: number; to: number } | null;
  /** Active users with no security key or passkey registered (they can only sign in with a password). */
  usersWithoutKey: number;
  openIncidents: number;
}

async function rolledCounts(db: Kysely<Database>, range: OverviewRange, from: number, to: number): Promise<SeriesCount[]> {
  if (to <= from) return [];
  const { bucketMs, grain } = OVERVIEW_RANGES[range];
  // Summed into the chart's buckets in the database: at most buckets x labels rows come back.
  const rows = await db
    .selectFrom('console_rollups')
    .select([sql<number>`(bucket_start - (bucket_start % ${sql.lit(bucketMs)}))`.as('bucket'), 'series', 'label', (eb) => eb.fn.sum<number>('count').as('n')])
    .where('grain', '=', grain)
    .where('bucket_start', '>=', from)
    .where('bucket_start', '<', to)
    .groupBy([sql`1`, sql`2`, sql`3`])
    .execute();
  return rows.map((row) => ({ bucketStart: Number(row.bucket), series: row.series as OverviewSeriesName, label: row.label, count: Number(row.n) }));
}

/**
 * The overview at `now`: completed buckets from the rollups, the rest (the current bucket and any
 * not rolled yet) counted live through the `at` indexes, plus the two headline counts.
 */
export async function readOverview(db: Kysely<Database>, range: OverviewRange, now: number): Promise<Overview> {
  const { bucketMs, grain } = OVERVIEW_RANGES[range];
  const buckets = bucketsOf(range, now);
  const from = buckets[0]!;
  const mark = await rollupMark(db, grain);
  const rolledTo = mark === undefined ? from : Math.max(from, Math.min(mark, now));
  const liveLimit = Math.floor((now - LIVE_LIMIT_MS) / GRAINS[grain]) * GRAINS[grain];
  const liveFrom = Math.max(rolledTo, liveLimit);
  const [rolled, live, withoutKey, incidents] = await Promise.all([
    rolledCounts(db, range, from, rolledTo),
    countRawSeries(db, liveFrom, now + 1, bucketMs),
    db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'active')
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('credentials').select('credentials.id').whereRef('credentials.user_id', '=', 'users.id'))))
      .executeTakeFirst(),
    db.selectFrom('incidents').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'open').executeTakeFirst(),
  ]);
  return {
    ...tabulate(range, buckets, [...rolled, ...live]),
    now,
    rolledTo: mark === undefined ? null : mark,
    missing: liveFrom > rolledTo ? { from: rolledTo, to: liveFrom } : null,
    usersWithoutKey: Number(withoutKey?.n ?? 0),
    openIncidents: Number(incidents?.n ?? 0),
  };
}
