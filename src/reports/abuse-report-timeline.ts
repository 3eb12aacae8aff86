import type { Kysely } from 'kysely';
import type { IncidentEvent, IncidentTimelineSource } from '../incident/index.js';
import type { Database } from '../store/index.js';
import { isUnder } from './report-triage.js';

const defang = (domain: string) => domain.replace(/\./g, '[.]');

/**
 * The takedown on a declared incident's timeline: for each escalated report group (one with a drafted
 * incident) whose lure is among the incident's domains, each abuse report drafted, queued, sent or
 * failed, and each acknowledgement a responder recorded. Read from the report messages when the
 * incident is shown, so an incident declared after the drafts were written shows them too.
 */
export function abuseReportTimeline(db: Kysely<Database>): IncidentTimelineSource {
  return async (incident) => {
    const domains = incident.indicators.domains;
    if (domains.length === 0) return [];
    const groups = (await db.selectFrom('report_groups').select(['id', 'domain']).where('incident_draft', 'is not', null).orderBy('first_seen_at', 'desc').limit(500).execute()).filter((g) =>
      domains.some((d) => isUnder(d, g.domain) || isUnder(g.domain, d)),
    );
    if (groups.length === 0) return [];
    const domainOf = new Map(groups.map((g) => [g.id, g.domain]));
    const messages = await db
      .selectFrom('report_messages')
      .selectAll()
      .where('group_id', 'in', [...domainOf.keys()])
      .where('kind', 'in', ['abuse_report', 'abuse_ack'])
      .orderBy('created_at')
      .limit(200)
      .execute();
    const events: IncidentEvent[] = [];
    for (const m of messages) {
      const lure = defang(domainOf.get(m.group_id ?? '') ?? '?');
      const at = Number(m.created_at);
      if (m.kind === 'abuse_ack') {
        events.push({ at, source: 'takedown', summary: `abuse report on ${lure} acknowledged by ${m.recipient}${m.body ? `: ${m.body.slice(0, 200)}` : ''}` });
        continue;
      }
      events.push({ at, source: 'takedown', summary: `abuse report on ${lure} drafted to ${m.recipient}` });
      if (m.status === 'pending') events.push({ at: undefined, source: 'takedown', summary: `abuse report on ${lure} to ${m.recipient} queued in the outbox` });
      if (m.status === 'sent') events.push({ at: m.sent_at === null ? undefined : Number(m.sent_at), source: 'takedown', summary: `abuse report on ${lure} sent to ${m.recipient}` });
      if (m.status === 'failed') events.push({ at: undefined, source: 'takedown', summary: `abuse report on ${lure} to ${m.recipient} failed: ${(m.last_error ?? 'unknown error').slice(0, 200)}` });
    }
    return events;
  };
}
