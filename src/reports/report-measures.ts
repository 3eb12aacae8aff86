import type { Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { Database } from '../store/index.js';

const DAY = 86_400_000;
/** Groups the measures look at: the last 30 days, at most 500 (the query log is read per group). */
const GROUP_WINDOW_MS = 30 * DAY;
const MAX_GROUPS = 500;

export interface ReportMeasures {
  reportsLast7Days: number;
  /** Escalated groups of the last 30 days: seconds from the first report to the block, median and worst. */
  timeToBlockMedianSeconds: number | undefined;
  timeToBlockMaxSeconds: number | undefined;
  /**
   * Of the suspicious groups of the last 30 days, the share whose domain no one had resolved (no
   * allowed query in the gateway's query log) before the first report: lures caught before any click.
   * Undefined without groups. Only as good as the query log: clients not using the gateway are unseen.
   */
  reportedBeforeAnyClickShare: number | undefined;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Whether anyone resolved a lure through the gateway before it was first reported. The answer never
 * changes once the report exists (the query log before that moment is history), so it is computed once
 * per group: a subdomain match (`%.domain`) cannot use the name index, and repeating that scan of the
 * query log for every group at every `/metrics` scrape would cost seconds per scrape at a million rows.
 */
async function resolvedBeforeReport(db: Kysely<Database>, domain: string, firstSeenAt: number): Promise<boolean> {
  const clicked = await db
    .selectFrom('dns_queries')
    .select('id')
    .where((eb) => eb.or([eb('name', '=', domain), eb('name', 'like', `%.${domain}`)]))
    .where('verdict', '=', 'allow')
    .where('at', '<', firstSeenAt)
    .limit(1)
    .executeTakeFirst();
  return clicked !== undefined;
}

/** Measures reports; remembers each group's "resolved before the report" answer (bounded). */
export function createReportMeasurer(db: Kysely<Database>, now: () => number): () => Promise<ReportMeasures> {
  const resolved = new Map<string, boolean>();
  return async () => {
    const at = now();
    const recent = await db.selectFrom('reports').select((eb) => eb.fn.countAll<number>().as('n')).where('received_at', '>=', at - 7 * DAY).executeTakeFirstOrThrow();
    const groups = await db
      .selectFrom('report_groups')
      .select(['id', 'domain', 'status', 'first_seen_at', 'escalated_at'])
      .where('first_seen_at', '>=', at - GROUP_WINDOW_MS)
      .where('status', '!=', 'dismissed')
      .orderBy('first_seen_at', 'desc')
      .limit(MAX_GROUPS)
      .execute();
    const toBlock = groups.filter((g) => g.escalated_at !== null).map((g) => (Number(g.escalated_at) - Number(g.first_seen_at)) / 1000);
    let beforeClick = 0;
    for (const group of groups) {
      let known = resolved.get(group.id);
      if (known === undefined) {
        known = await resolvedBeforeReport(db, group.domain, Number(group.first_seen_at));
        resolved.set(group.id, known);
      }
      if (!known) beforeClick++;
    }
    // Only the groups still in the window are kept.
    if (resolved.size > MAX_GROUPS * 2) for (const id of [...resolved.keys()].slice(0, resolved.size - MAX_GROUPS)) resolved.delete(id);
    return {
      reportsLast7Days: Number(recent.n),
      timeToBlockMedianSeconds: median(toBlock),
      timeToBlockMaxSeconds: toBlock.length ? Math.max(...toBlock) : undefined,
      reportedBeforeAnyClickShare: groups.length ? beforeClick / groups.length : undefined,
    };
  };
}

/** One measurement without memory (tests, one-off CLI use). */
export function measureReports(db: Kysely<Database>, now: number): Promise<ReportMeasures> {
  return createReportMeasurer(db, () => now)();
}

/** The measures as gauges, computed when `/metrics` is scraped (the console's reports page reads the same measurer). */
export function registerReportMetrics(registry: Registry, measure: () => Promise<ReportMeasures>): void {
  let pending: Promise<ReportMeasures> | undefined;
  // One computation per scrape, shared by the four gauges.
  const current = () => (pending ??= measure().finally(() => setTimeout(() => (pending = undefined), 1000).unref()));
  const gauge = (name: string, help: string, pick: (m: ReportMeasures) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const value = pick(await current());
        if (value === undefined) this.reset();
        else this.set(value);
      },
    });
  gauge('gatehouse_reports_last_7_days', 'Reports of suspicious messages received in the last 7 days.', (m) => m.reportsLast7Days);
  gauge('gatehouse_report_time_to_block_median_seconds', 'Median seconds from the first report of a lure to its block (escalated groups, last 30 days).', (m) => m.timeToBlockMedianSeconds);
  gauge('gatehouse_report_time_to_block_max_seconds', 'Longest seconds from the first report of a lure to its block (escalated groups, last 30 days).', (m) => m.timeToBlockMaxSeconds);
  gauge('gatehouse_report_before_any_click_ratio', 'Share of reported lures (last 30 days) no one had resolved through the gateway before the first report.', (m) => m.reportedBeforeAnyClickShare);
}
