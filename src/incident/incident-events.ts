import type { IncidentEvent, IncidentRecord, IncidentTimelineSource } from './incident-types.js';

const MAX_EVENTS = 200;

/**
 * The events every timeline source knows of for `incident`, in time order (untimed last). A source
 * that fails shows as one event saying so: showing an incident never fails because a neighbour did.
 */
export async function eventsOf(incident: IncidentRecord, sources: readonly IncidentTimelineSource[]): Promise<IncidentEvent[]> {
  const found = await Promise.all(
    sources.map((source) => source(incident).catch((error: unknown): IncidentEvent[] => [{ at: undefined, source: 'timeline', summary: `a timeline source failed: ${(error as Error).message.slice(0, 200)}` }])),
  );
  const order = (e: IncidentEvent) => e.at ?? Number.MAX_SAFE_INTEGER;
  return found.flat().sort((a, b) => order(a) - order(b)).slice(0, MAX_EVENTS);
}
