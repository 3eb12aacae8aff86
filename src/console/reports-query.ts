import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/index.js';

export type ReportGroupStatus = 'open' | 'escalated' | 'dismissed';

export interface ReportGroupRow {
  id: string;
  domain: string;
  status: ReportGroupStatus;
  firstSeenAt: number;
  lastSeenAt: number;
  reports: number;
  /** Distinct identified reporters (anonymous reports count none, as in the escalation threshold). */
  reporters: number;
}

/**
 * The triage queue: report groups, most recently reported first, with their counts in the same query
 * (one grouped join over `reports_group`, not a count per group).
 */
export async function listReportGroups(db: Kysely<Database>, filter: { status?: ReportGroupStatus; limit: number }): Promise<ReportGroupRow[]> {
  let query = db
    .selectFrom('report_groups as g')
    .leftJoin('reports as r', 'r.group_id', 'g.id')
    .select(['g.id', 'g.domain', 'g.status', 'g.first_seen_at', 'g.last_seen_at'])
    .select((eb) => [eb.fn.count<number>('r.id').as('reports'), eb.fn.count<number>('r.reporter').distinct().as('reporters')])
    .groupBy(['g.id', 'g.domain', 'g.status', 'g.first_seen_at', 'g.last_seen_at']);
  if (filter.status) query = query.where('g.status', '=', filter.status);
  const rows = await query.orderBy('g.last_seen_at', 'desc').orderBy('g.id').limit(filter.limit).execute();
  return rows.map((row) => ({
    id: row.id,
    domain: row.domain,
    status: row.status,
    firstSeenAt: Number(row.first_seen_at),
    lastSeenAt: Number(row.last_seen_at),
    reports: Number(row.reports),
    reporters: Number(row.reporters),
  }));
}

/** Why a group was dismissed: the note of its newest `report.dismissed` event (type-indexed, small). */
export async function dismissalNote(db: Kysely<Database>, groupId: string): Promise<{ note: string | null; actor: string | null; at: number } | undefined> {
  const needle = `%${`"group":${JSON.stringify(groupId)}`.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const row = await db
    .selectFrom('audit_events')
    .select(['detail', 'actor', 'at'])
    .where('type', '=', 'report.dismissed')
    .where(sql<boolean>`detail like ${needle} escape '\\'`)
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  let note: unknown = null;
  try {
    note = (JSON.parse(row.detail) as { note?: unknown }).note ?? null;
  } catch {
    // a hand-edited row: no note
  }
  return { note: typeof note === 'string' ? note : null, actor: row.actor, at: Number(row.at) };
}
