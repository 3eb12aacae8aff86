import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { timelineEvents } from '../incident/index.js';
import type { ConsoleContext } from './console-context.js';
import { incidentIdOf } from './incident-page.js';

/** A comment line this often keeps proxies from closing an idle stream; the session is re-checked with it (not counted as use). */
const HEARTBEAT_MS = 15_000;
/** Entries sent per poll at most (a step's result is bounded text; an incident has a dozen lines). */
const MAX_EVENTS = 200;

/** SSE field values are single lines (WHATWG HTML §9.2.6): an id never carries a line break. */
function sseId(key: string): string {
  return key.replace(/[\r\n]/g, ' ').slice(0, 200);
}

/**
 * The incident timeline as server-sent events: the entries already written, then each new one as it
 * is written. The playbook may run on any instance (or the CLI), and its steps are rows updated in
 * place with no notification across processes, so each stream reads the incident's few rows at the
 * change-feed poll interval and sends the lines it has not sent. Gated like a page (an admin session
 * with a key, re-checked before any new line is sent and at every heartbeat, so a revoked session's
 * stream ends and receives nothing written after the revocation), bounded per session, per admin
 * and per instance (live-streams.ts), ended when the session's revocation reaches this instance
 * through the change feed, on client disconnect and when the console closes.
 */
export function registerIncidentEvents(scope: FastifyInstance, ctx: ConsoleContext): void {
  // preClose: the server waits for open responses to end before it closes, and a stream never ends by itself.
  scope.addHook('preClose', async () => ctx.liveStreams.endAll());

  scope.get('/incidents/:id/events', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const id = incidentIdOf(request);
    // Refused before the stream starts: a missing incident is a 404, not an empty stream.
    await ctx.deps.incidents.timeline(id);
    const stream = new PassThrough();
    const sent = new Set<string>();
    const lastEventId = String(request.headers['last-event-id'] ?? '');
    let resumed = lastEventId === '';
    let polling: NodeJS.Timeout | undefined;
    let ended = false;
    const timers: { heartbeat?: NodeJS.Timeout } = {};
    // Throws 429 before anything starts when this session or admin holds its share already.
    const lease = ctx.liveStreams.admit(request, session, {
      recheck: () => ctx.gate.recheck(request),
      end: () => {
        ended = true;
        clearTimeout(polling);
        clearInterval(timers.heartbeat);
        stream.end();
      },
    });
    const end = () => lease.end();
    timers.heartbeat = setInterval(() => {
      stream.write(': keep-alive\n\n');
      ctx.gate.recheck(request).catch(() => end());
    }, HEARTBEAT_MS);

    const poll = async () => {
      try {
        const { incident, timeline } = await ctx.deps.incidents.timeline(id);
        const fresh = timelineEvents(incident, timeline)
          .slice(0, MAX_EVENTS)
          .map((event) => ({ ...event, key: sseId(event.key) }))
          .filter((event) => !sent.has(event.key));
        // Read after the entries: a session revoked (or an admin demoted) before they were written never
        // receives them. A stolen cookie revoked mid-incident must not keep a live feed of the response
        // until the next heartbeat.
        if (fresh.length > 0 && !(await ctx.gate.recheck(request).then(() => true, () => false))) return end();
        for (const event of fresh) {
          sent.add(event.key);
          // A reconnecting EventSource names the last entry it has: those up to it are not sent again.
          if (!resumed) {
            resumed = event.key === lastEventId;
            continue;
          }
          stream.write(`id: ${event.key}\ndata: ${JSON.stringify({ text: event.text, at: event.at })}\n\n`);
        }
        // An unknown Last-Event-ID (the incident changed since): everything is sent once.
        if (!resumed) {
          resumed = true;
          sent.clear();
          return poll();
        }
      } catch (error) {
        request.log.warn({ err: error, incident: id }, 'incident timeline read failed; retrying');
      }
      if (!ended) polling = setTimeout(() => void poll(), Math.max(25, ctx.deps.config().database.feed_poll_ms));
    };
    // The response's close, not the request's: a GET's request stream ends as soon as it is read.
    reply.raw.on('close', end);

    // EventSource waits this long before reconnecting after a dropped connection.
    stream.write('retry: 3000\n\n');
    void poll();
    return reply.type('text/event-stream; charset=utf-8').header('cache-control', 'no-store').header('x-accel-buffering', 'no').send(stream);
  });
}
