import type { IncidentRecord, TimelineEntry } from './incident-types.js';
import { summarise } from './timeline-text.js';

/** One line of an incident's live timeline: `key` is stable, so a watcher sends each line once. */
export interface TimelineEvent {
  key: string;
  at: number;
  text: string;
}

/**
 * The incident as a list of what happened, in playbook order: declared, each step's start and its end
 * (done, failed, or waiting for a failed step), closed. Derived from the stored rows alone (the step
 * rows are updated in place), so any instance reading the same database produces the same lines; a
 * retried step has a new attempt count and so a new key.
 */
export function timelineEvents(incident: IncidentRecord, timeline: readonly TimelineEntry[]): TimelineEvent[] {
  const events: TimelineEvent[] = [{ key: 'declared', at: incident.declaredAt, text: `declared by ${incident.declaredBy}: ${incident.title}` }];
  for (const entry of timeline) {
    if (entry.startedAt !== undefined) events.push({ key: `${entry.step}:started`, at: entry.startedAt, text: `${entry.step} started` });
    const attempt = `${entry.attempts}:${entry.endedAt ?? ''}`;
    if (entry.status === 'done' || entry.status === 'failed') {
      const took = entry.durationMs === undefined ? '' : ` in ${entry.durationMs} ms`;
      const detail = entry.status === 'failed' ? `: ${entry.error ?? 'no reason recorded'}` : entry.result ? `: ${summarise(entry.result)}` : '';
      events.push({ key: `${entry.step}:${entry.status}:${attempt}`, at: entry.endedAt ?? entry.startedAt ?? incident.declaredAt, text: `${entry.step} ${entry.status}${took}${detail}`.slice(0, 2000) });
    } else if (entry.status === 'pending' && entry.error) {
      events.push({ key: `${entry.step}:waiting:${attempt}`, at: entry.startedAt ?? incident.declaredAt, text: `${entry.step} not run: ${entry.error}`.slice(0, 2000) });
    }
  }
  if (incident.closedAt !== undefined) {
    events.push({ key: 'closed', at: incident.closedAt, text: `closed by ${incident.closedBy ?? 'unknown'}${incident.closeNote ? `: ${incident.closeNote}` : ''}`.slice(0, 2000) });
  }
  return events;
}
