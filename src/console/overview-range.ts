import { GatehouseError } from '../lib/errors.js';
import type { Grain } from './overview-rollups.js';
import { OVERVIEW_SERIES, type OverviewSeriesName, type SeriesCount } from './overview-sources.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The overview's ranges: each chart shows `spanMs` in buckets of `bucketMs`, read from rollups of `grain`. */
export const OVERVIEW_RANGES = {
  '1h': { label: 'last hour', spanMs: HOUR, bucketMs: 5 * MINUTE, grain: '5m' },
  '24h': { label: 'last 24 hours', spanMs: DAY, bucketMs: HOUR, grain: '1h' },
  '7d': { label: 'last 7 days', spanMs: 7 * DAY, bucketMs: 6 * HOUR, grain: '1h' },
  '30d': { label: 'last 30 days', spanMs: 30 * DAY, bucketMs: DAY, grain: '1h' },
} as const satisfies Record<string, { label: string; spanMs: number; bucketMs: number; grain: Grain }>;

export type OverviewRange = keyof typeof OVERVIEW_RANGES;
export const OVERVIEW_RANGE_NAMES = Object.keys(OVERVIEW_RANGES) as OverviewRange[];

/** `range` from the query string: absent means 24h; anything else but a listed value is a 400 naming them. */
export function parseOverviewRange(value: unknown): OverviewRange {
  if (value === undefined || value === '') return '24h';
  if (typeof value === 'string' && Object.hasOwn(OVERVIEW_RANGES, value)) return value as OverviewRange;
  throw new GatehouseError('invalid_range', {
    status: 400,
    publicMessage: `range must be one of ${OVERVIEW_RANGE_NAMES.join(', ')}.`,
    detail: `range ${JSON.stringify(String(value).slice(0, 40))}`,
  });
}

/** Each chart's counts: label -> one number per bucket. */
export type SeriesTable = Record<OverviewSeriesName, Record<string, number[]>>;

export interface OverviewSeries {
  range: OverviewRange;
  bucketMs: number;
  /** Start of each bucket (UTC-aligned); the last one holds `now` and is still filling. */
  buckets: number[];
  series: SeriesTable;
}

/** The buckets of a range at `now`: the current (partial) one and the whole ones before it. */
export function bucketsOf(range: OverviewRange, now: number): number[] {
  const { spanMs, bucketMs } = OVERVIEW_RANGES[range];
  const last = Math.floor(now / bucketMs) * bucketMs;
  const count = spanMs / bucketMs;
  return Array.from({ length: count }, (_, i) => last - (count - 1 - i) * bucketMs);
}

/** Lays counts (any bucket width that divides the range's) out as the range's series, labels sorted. */
export function tabulate(range: OverviewRange, buckets: readonly number[], counts: Iterable<SeriesCount>): OverviewSeries {
  const { bucketMs } = OVERVIEW_RANGES[range];
  const first = buckets[0] ?? 0;
  const series = Object.fromEntries(OVERVIEW_SERIES.map((name) => [name, {}])) as SeriesTable;
  for (const count of counts) {
    const index = Math.floor((count.bucketStart - first) / bucketMs);
    if (index < 0 || index >= buckets.length || count.count === 0) continue;
    const row = (series[count.series][count.label] ??= buckets.map(() => 0));
    row[index]! += count.count;
  }
  for (const name of OVERVIEW_SERIES) {
    series[name] = Object.fromEntries(Object.entries(series[name]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return { range, bucketMs, buckets: [...buckets], series };
}
