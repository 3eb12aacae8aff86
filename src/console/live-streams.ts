import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { SESSION_FEED, type SessionView } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import type { Change } from '../store/index.js';

/** Streams for the whole instance: each polls the database, so their number is bounded. */
const STREAMS_TOTAL = 200;
/** A refusal is audited once per session (or admin) per this window: a script retrying must not flood the log. */
const REFUSAL_AUDIT_WINDOW_MS = 5 * 60_000;

export interface LiveStreamLimits {
  perSession: number;
  perAdmin: number;
}

/** One admitted stream: `end` stops it and gives its place back (idempotent). */
export interface LiveStreamLease {
  end(): void;
}

export interface LiveStreams {
  /**
   * Takes a place for a stream of this session, or throws 429 `console_too_many_streams` (audited once
   * per window). `end` is what closes the stream; `recheck` asks the gate again and rejects when the
   * session may no longer read.
   */
  admit(request: FastifyRequest, session: SessionView, stream: { end: () => void; recheck: () => Promise<unknown> }): LiveStreamLease;
  /** A change-feed row from any instance: ends the streams of the sessions it revokes, re-checks those of a changed user. */
  applyChange(change: Change): void;
  /** Ends every stream (the console closes). */
  endAll(): void;
}

export interface LiveStreamsDeps {
  limits: () => LiveStreamLimits;
  audit: AuditLog;
  clock: Clock;
  clientIp: (request: FastifyRequest) => string;
}

interface OpenStream {
  session: SessionView;
  end: () => void;
  recheck: () => Promise<unknown>;
}

/**
 * The console's live streams, bounded per session, per admin and per instance. Attacks, written first:
 * - a stolen cookie opens many streams (a live feed of the response, and database load): at most
 *   `console.live_streams_per_session` per session and `console.live_streams_per_admin` per admin;
 * - the cookie is revoked (by a responder, the playbook, or "sign everyone out") on any instance: its
 *   streams end as soon as the change-feed row arrives here, not at the next heartbeat or entry;
 * - a script retrying in a loop to fill the audit log with refusals: one event per window.
 */
export function createLiveStreams(deps: LiveStreamsDeps): LiveStreams {
  const open = new Set<OpenStream>();
  const lastAudited = new Map<string, number>();

  const countWhere = (match: (s: OpenStream) => boolean) => {
    let n = 0;
    for (const s of open) if (match(s)) n++;
    return n;
  };
  const endWhere = (match: (s: OpenStream) => boolean) => {
    for (const s of [...open]) if (match(s)) s.end();
  };

  function refuse(request: FastifyRequest, session: SessionView, limit: 'session' | 'admin' | 'instance', max: number): never {
    const now = deps.clock.now();
    for (const [key, at] of lastAudited) if (now - at >= REFUSAL_AUDIT_WINDOW_MS) lastAudited.delete(key);
    const key = limit === 'session' ? `session:${session.idHash}` : limit === 'admin' ? `admin:${session.userId}` : 'instance';
    if (!lastAudited.has(key)) {
      lastAudited.set(key, now);
      void deps.audit
        .record({
          type: 'admin.stream_refused',
          outcome: 'failure',
          code: 'console_too_many_streams',
          userId: session.userId,
          ip: deps.clientIp(request),
          detail: { limit, max, session: session.idHash.slice(0, 16), route: request.url.split('?')[0] ?? '' },
        })
        .catch((error: unknown) => request.log.warn({ err: error }, 'audit of a refused stream failed'));
    }
    throw new GatehouseError('console_too_many_streams', { status: 429, publicMessage: 'Too many live views are open. Close a tab and reload.', detail: `${limit} limit of ${max}` });
  }

  return {
    admit(request, session, stream) {
      const { perSession, perAdmin } = deps.limits();
      if (countWhere((s) => s.session.idHash === session.idHash) >= perSession) refuse(request, session, 'session', perSession);
      if (countWhere((s) => s.session.userId === session.userId) >= perAdmin) refuse(request, session, 'admin', perAdmin);
      if (open.size >= STREAMS_TOTAL) refuse(request, session, 'instance', STREAMS_TOTAL);
      const entry: OpenStream = { session, end: () => {}, recheck: stream.recheck };
      let ended = false;
      entry.end = () => {
        if (ended) return;
        ended = true;
        open.delete(entry);
        stream.end();
      };
      open.add(entry);
      return { end: entry.end };
    },
    applyChange(change) {
      switch (change.kind) {
        case SESSION_FEED.revoked: {
          const hashes = new Set((change.payload.idHashes as string[] | undefined) ?? []);
          endWhere((s) => hashes.has(s.session.idHash));
          break;
        }
        case SESSION_FEED.revokedUser:
          endWhere((s) => s.session.userId === String(change.payload.userId));
          break;
        case SESSION_FEED.revokedAll:
          // The same inclusive cut-off as the session manager's: created at or before it is ended.
          if (typeof change.payload.before === 'number') endWhere((s) => s.session.createdAt <= (change.payload.before as number));
          break;
        case SESSION_FEED.userChanged:
          // A group change may remove the admin: the gate decides, as for a page.
          for (const s of [...open]) if (s.session.userId === String(change.payload.userId)) s.recheck().catch(() => s.end());
          break;
        default:
      }
    },
    endAll() {
      endWhere(() => true);
    },
  };
}
