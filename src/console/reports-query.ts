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
 * The triage queue: a page of report groups, most recently reported first, then the counts of that
 * page's groups in one grouped query over `reports_group` (two queries, never one per group).
 */
export async function listReportGroups(db: Kysely<Database>, filter: { status?: ReportGroupStatus; limit: number }): Promise<ReportGroupRow[]> {
  let query = db.selectFrom('report_groups').select(['id', 'domain', 'status', 'first_seen_at', 'last_seen_at']);
  if (filter.status) query = query.where('status', '=', filter.status);
  const groups = await query.orderBy('last_seen_at', 'desc').orderBy('id').limit(filter.limit).execute();
  if (groups.length === 0) return [];
  const counts = await db
    .selectFrom('reports')
    .select((eb) => ['group_id', eb.fn.countAll<number>().as('reports'), eb.fn.count<number>('reporter').distinct().as('reporters')])
    .where('group_id', 'in', groups.map((g) => g.id))
    .groupBy('group_id')
    .execute();
  const byGroup = new Map(counts.map((c) => [c.group_id, c]));
  return groups.map((row) => ({
    id: row.id,
    domain: row.domain,
    status: row.status,
    firstSeenAt: Number(row.first_seen_at),
    lastSeenAt: Number(row.last_seen_at),
    reports: Number(byGroup.get(row.id)?.reports ?? 0),
    reporters: Number(byGroup.get(row.id)?.reporters ?? 0),
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
