import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { countRawSeries, type SeriesCount } from './overview-sources.js';

/** Bucket widths the overview keeps: 5 minutes for the last hour's chart, hours for everything. */
export const GRAINS = { '5m': 5 * 60_000, '1h': 3_600_000 } as const;
export type Grain = keyof typeof GRAINS;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Rows reach the tables after the event: the DNS query log is written in batches, the audit log
 * through a group commit. A bucket is rolled only once it ended this long ago, and the last few
 * rolled buckets are rolled again on every pass, so a row up to REROLL buckets late is still counted.
 */
export const SETTLE_MS = 2 * 60_000;
const REROLL: Record<Grain, number> = { '5m': 3, '1h': 1 };
/** How far back the first pass starts: 5-minute buckets serve only the last hour; hours the 30 days. */
const FIRST_SPAN: Record<Grain, number> = { '5m': 2 * HOUR, '1h': 31 * DAY };
/** Bounded work per pass (a catch-up after a long stop is spread over several passes). */
const MAX_BUCKETS_PER_PASS: Record<Grain, number> = { '5m': 36, '1h': 48 };
/** Buckets counted per query: on SQLite a query blocks the event loop, so it stays small. */
const CHUNK: Record<Grain, number> = { '5m': 12, '1h': 3 };
/** 5-minute rows older than this are not read by any chart. */
const KEEP_5M_MS = DAY;

export interface RollupPass {
  /** Buckets counted in this pass, per grain. */
  rolled: Record<Grain, number>;
  /** More completed buckets wait than one pass takes: the caller runs again soon. */
  behind: boolean;
}

export async function rollupMark(db: Kysely<Database>, grain: Grain): Promise<number | undefined> {
  const row = await db.selectFrom('console_rollup_marks').select('rolled_to').where('grain', '=', grain).executeTakeFirst();
  return row ? Number(row.rolled_to) : undefined;
}

async function oldestRawRow(db: Kysely<Database>): Promise<number | undefined> {
  const [audit, dns] = await Promise.all([
    db.selectFrom('audit_events').select((eb) => eb.fn.min('at').as('at')).executeTakeFirst(),
    db.selectFrom('dns_queries').select((eb) => eb.fn.min('at').as('at')).executeTakeFirst(),
  ]);
  const found = [audit?.at, dns?.at].filter((at) => at !== null && at !== undefined).map(Number);
  return found.length ? Math.min(...found) : undefined;
}

/**
 * Idempotent: a bucket's count is recomputed from the raw rows and written as the larger of the
 * stored and the new count. Two instances rolling the same bucket write the same number; a slow
 * instance cannot lower a count a faster one wrote after late rows arrived; and a bucket rolled
 * again after retention pruned its raw rows keeps its count.
 */
async function upsertCounts(db: Kysely<Database>, grain: Grain, counts: readonly SeriesCount[]): Promise<void> {
  for (let i = 0; i < counts.length; i += 500) {
    await db
      .insertInto('console_rollups')
      .values(counts.slice(i, i + 500).map((c) => ({ grain, bucket_start: c.bucketStart, series: c.series, label: c.label, count: c.count })))
      .onConflict((oc) =>
        oc.columns(['grain', 'bucket_start', 'series', 'label']).doUpdateSet({
          count: sql<number>`CASE WHEN excluded.count > console_rollups.count THEN excluded.count ELSE console_rollups.count END`,
        }),
      )
      .execute();
  }
}

async function advanceMark(db: Kysely<Database>, grain: Grain, to: number, now: number): Promise<void> {
  await db
    .insertInto('console_rollup_marks')
    .values({ grain, rolled_to: to, updated_at: now })
    .onConflict((oc) =>
      oc.column('grain').doUpdateSet({
        // Never backwards: another instance may have rolled further meanwhile.
        rolled_to: sql<number>`CASE WHEN excluded.rolled_to > console_rollup_marks.rolled_to THEN excluded.rolled_to ELSE console_rollup_marks.rolled_to END`,
        updated_at: sql<number>`excluded.updated_at`,
      }),
    )
    .execute();
}

async function rollGrain(db: Kysely<Database>, grain: Grain, now: number): Promise<{ rolled: number; behind: boolean }> {
  const width = GRAINS[grain];
  const target = Math.floor((now - SETTLE_MS) / width) * width;
  const mark = await rollupMark(db, grain);
  const floor = Math.floor((target - FIRST_SPAN[grain]) / width) * width;
  let start: number;
  if (mark === undefined) {
    const oldest = await oldestRawRow(db);
    start = oldest === undefined ? target : Math.max(floor, Math.floor(oldest / width) * width);
  } else {
    start = Math.max(Math.min(mark, target) - REROLL[grain] * width, grain === '5m' ? floor : -Infinity);
  }
  const end = Math.min(target, start + MAX_BUCKETS_PER_PASS[grain] * width);
  for (let from = start; from < end; from += CHUNK[grain] * width) {
    const to = Math.min(end, from + CHUNK[grain] * width);
    await upsertCounts(db, grain, await countRawSeries(db, from, to, width));
  }
  if (mark === undefined || end > mark) await advanceMark(db, grain, end, now);
  return { rolled: Math.max(0, (end - start) / width), behind: end < target };
}

/**
 * One rollup pass at `now`: counts the completed buckets after each grain's mark (and re-counts the
 * last few for late rows), then moves the mark. Safe to run on every instance at once.
 */
export async function rollUpOverview(db: Kysely<Database>, now: number): Promise<RollupPass> {
  const fine = await rollGrain(db, '5m', now);
  const hourly = await rollGrain(db, '1h', now);
  await db.deleteFrom('console_rollups').where('grain', '=', '5m').where('bucket_start', '<', now - KEEP_5M_MS).execute();
  return { rolled: { '5m': fine.rolled, '1h': hourly.rolled }, behind: fine.behind || hourly.behind };
}
