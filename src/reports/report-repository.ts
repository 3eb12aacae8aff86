import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import type { TriagedIndicator } from './report-triage.js';

export type ReportSource = 'portal' | 'smtp' | 'webhook' | 'block_page' | 'cli';
export type ReportVerdict = 'suspicious' | 'harmless' | 'mistake';

export interface StoredReport {
  id: string;
  groupId: string | null;
  source: ReportSource;
  reporter: string | null;
  body: string;
  indicators: TriagedIndicator[];
  verdict: ReportVerdict;
  receivedAt: number;
}

export interface ReportGroup {
  id: string;
  domain: string;
  status: 'open' | 'escalated' | 'dismissed';
  firstSeenAt: number;
  lastSeenAt: number;
  escalatedAt: number | null;
  escalatedBy: string | null;
  escalationReason: string | null;
  incidentDraft: Record<string, unknown> | null;
  reports: number;
  reporters: number;
}

type GroupRow = Database['report_groups'];

/** Owns the rows of `reports`, `report_groups` and `report_messages` (migration 013). */
export class ReportRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insertReport(row: Database['reports'], db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('reports').values(row).execute();
  }

  async openGroupFor(domain: string, db: Kysely<Database> = this.db): Promise<GroupRow | undefined> {
    return db.selectFrom('report_groups').selectAll().where('domain', '=', domain).where('status', '!=', 'dismissed').orderBy('first_seen_at', 'desc').executeTakeFirst();
  }

  async insertGroup(row: GroupRow, db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('report_groups').values(row).execute();
  }

  async touchGroup(id: string, at: number, db: Kysely<Database> = this.db): Promise<void> {
    await db.updateTable('report_groups').set({ last_seen_at: at }).where('id', '=', id).execute();
  }

  /** Distinct identified reporters of a group since `since` (anonymous reports never count). */
  async distinctReporters(groupId: string, since: number, db: Kysely<Database> = this.db): Promise<string[]> {
    const rows = await db
      .selectFrom('reports')
      .select('reporter')
      .distinct()
      .where('group_id', '=', groupId)
      .where('reporter', 'is not', null)
      .where('received_at', '>=', since)
      .execute();
    return rows.map((r) => r.reporter as string);
  }

  async markEscalated(id: string, input: { at: number; by: string; reason: string; draft: Record<string, unknown> }, db: Kysely<Database> = this.db): Promise<boolean> {
    const result = await db
      .updateTable('report_groups')
      .set({ status: 'escalated', escalated_at: input.at, escalated_by: input.by, escalation_reason: input.reason, incident_draft: JSON.stringify(input.draft) })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async markDismissed(id: string, input: { at: number; by: string }): Promise<boolean> {
    const result = await this.db.updateTable('report_groups').set({ status: 'dismissed', dismissed_at: input.at, dismissed_by: input.by }).where('id', '=', id).where('status', '=', 'open').executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async enqueueMessage(row: Omit<Database['report_messages'], 'sent_at' | 'last_error'>, db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('report_messages').values({ ...row, sent_at: null, last_error: null }).onConflict((oc) => oc.column('key').doNothing()).execute();
  }

  async messages(filter: { status?: Database['report_messages']['status']; groupId?: string } = {}) {
    let query = this.db.selectFrom('report_messages').selectAll().orderBy('created_at').limit(1000);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.groupId) query = query.where('group_id', '=', filter.groupId);
    return query.execute();
  }

  async markMessage(key: string, status: 'sent' | 'failed' | 'pending', at: number, error?: string): Promise<void> {
    await this.db.updateTable('report_messages').set({ status, sent_at: status === 'sent' ? at : null, last_error: error?.slice(0, 500) ?? null }).where('key', '=', key).execute();
  }

  async group(id: string): Promise<ReportGroup | undefined> {
    return (await this.groups({ id }))[0];
  }

  async groups(filter: { id?: string; status?: ReportGroup['status'] } = {}): Promise<ReportGroup[]> {
    let query = this.db.selectFrom('report_groups').selectAll().orderBy('last_seen_at', 'desc').limit(500);
    if (filter.id) query = query.where('id', '=', filter.id);
    if (filter.status) query = query.where('status', '=', filter.status);
    const rows = await query.execute();
    const out: ReportGroup[] = [];
    for (const r of rows) {
      const counts = await this.db
        .selectFrom('reports')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.count<number>('reporter').distinct().as('people')])
        .where('group_id', '=', r.id)
        .executeTakeFirstOrThrow();
      out.push({
        id: r.id,
        domain: r.domain,
        status: r.status,
        firstSeenAt: Number(r.first_seen_at),
        lastSeenAt: Number(r.last_seen_at),
        escalatedAt: r.escalated_at === null ? null : Number(r.escalated_at),
        escalatedBy: r.escalated_by,
        escalationReason: r.escalation_reason,
        incidentDraft: r.incident_draft ? (JSON.parse(r.incident_draft) as Record<string, unknown>) : null,
        reports: Number(counts.n),
        reporters: Number(counts.people),
      });
    }
    return out;
  }

  async reportsOf(groupId: string): Promise<StoredReport[]> {
    const rows = await this.db.selectFrom('reports').selectAll().where('group_id', '=', groupId).orderBy('received_at').limit(1000).execute();
    return rows.map((r) => ({
      id: r.id,
      groupId: r.group_id,
      source: r.source,
      reporter: r.reporter,
      body: r.body,
      indicators: JSON.parse(r.indicators) as TriagedIndicator[],
      verdict: r.verdict,
      receivedAt: Number(r.received_at),
    }));
  }

  /** For the metrics: reports received since `since`, and escalated groups with their first report and block times. */
  async countReportsSince(since: number): Promise<number> {
    const row = await this.db.selectFrom('reports').select((eb) => eb.fn.countAll<number>().as('n')).where('received_at', '>=', since).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
