import { sql } from 'kysely';
import type { Store } from '../../store/index.js';
import { detectBatchAnomalies, type ObservedAnomaly, type UseAnomalySettings } from './detect-use-anomalies.js';
import { networkOf } from './network-of.js';
import { readUseHistory, type TokenIdentityForAlert } from './read-use-history.js';
import { cleanClientText } from './service-token-input.js';

/** One authenticated request made with a token, as the proxy saw it. */
export interface ServiceTokenUse {
  clientId: string;
  at: number;
  clientAddress: string;
  app: string;
  userAgent?: string | undefined;
}

/** What the recorder logs through (pino-compatible); it never receives a secret. */
export interface ServiceTokenLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface UseRecorderOptions {
  store: Pick<Store, 'db' | 'dialect'>;
  /** The token id of a client id in the current snapshot; uses of ids it does not know are ignored. */
  tokenIdOf: (clientId: string) => string | undefined;
  flushMs: number;
  /** Most tokens held between writes; when a new one would exceed it, a write starts at once. */
  maxPending: number;
  log?: ServiceTokenLogger | undefined;
  /**
   * Receives the anomalies of each written batch, after the batch is written. Without it no history is
   * read. Its failure (a throw or a rejection) is logged: the last use is already written.
   */
  onAnomalies?: OnUseAnomalies | undefined;
  /** Read at every write, so a reload applies to the next one. */
  anomalySettings?: (() => UseAnomalySettings) | undefined;
}

/** A token's anomalies in one written batch, with who the token is (never a secret). */
export interface TokenUseAnomalies extends TokenIdentityForAlert {
  anomalies: ObservedAnomaly[];
}

export type OnUseAnomalies = (found: TokenUseAnomalies[]) => void | Promise<void>;

const DEFAULT_ANOMALY_SETTINGS: UseAnomalySettings = { silenceMs: 30 * 86_400_000 };

export interface ServiceTokenUseRecorder {
  /** O(1) and synchronous: called on the request path after a successful verification. */
  record(use: ServiceTokenUse): void;
  /** Writes what is pending: one UPDATE per token, one upsert of sightings. Returns the tokens written. */
  flush(): Promise<number>;
  start(): void;
  /** Stops the timer, writes what is pending, and waits for the anomaly callbacks it started. */
  stop(): Promise<void>;
  stats(): { pending: number; dropped: number };
  setTiming(flushMs: number, maxPending: number): void;
}

// Bounded per token and per flush: a client cycling through addresses cannot grow memory without
// limit; beyond this the last use is still kept, only further new networks of that window are not.
const MAX_SIGHTINGS_PER_FLUSH = 32;
const MAX_USER_AGENT = 256;
// The proxy passes a parsed address and its own app name; bounded anyway, as they go into the database.
const MAX_ADDRESS = 64;
const MAX_APP = 63;

interface Pending {
  /** The earliest use of the batch: silence is measured up to it, a believed-unused use is it. */
  first: { at: number; address: string; app: string };
  at: number;
  ip: string;
  app: string;
  userAgent: string | null;
  /** With the address and app of the first use that touched it, for the alert. */
  sightings: Map<string, { kind: 'network' | 'app'; value: string; first: number; last: number; address: string; app: string }>;
}

/**
 * Last use from actual use, off the hot path. The request path only touches a map in memory; a timer
 * writes the batch. Not a `commitChange`: the last use is not state any hot path reads, and an audit
 * event per request would drown the log (the proxy's access log has each request). Writes never move
 * `last_used_at` backwards, so two instances flushing in either order leave the latest use.
 */
export function createServiceTokenUseRecorder(options: UseRecorderOptions): ServiceTokenUseRecorder {
  const { store, tokenIdOf, log, onAnomalies } = options;
  const anomalySettings = options.anomalySettings ?? (() => DEFAULT_ANOMALY_SETTINGS);
  const notifying = new Set<Promise<void>>();
  let { flushMs, maxPending } = options;
  let pending = new Map<string, Pending>();
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  // Primitives, not an object per use: this runs on the request path.
  const sight = (entry: Pending, kind: 'network' | 'app', value: string | undefined, at: number, address: string, app: string) => {
    if (value === undefined) return;
    const key = `${kind}\u0000${value}`;
    const seen = entry.sightings.get(key);
    if (seen) {
      seen.last = Math.max(seen.last, at);
      if (at < seen.first) [seen.first, seen.address, seen.app] = [at, address, app];
    } else if (entry.sightings.size < MAX_SIGHTINGS_PER_FLUSH) entry.sightings.set(key, { kind, value, first: at, last: at, address, app });
  };

  /** Judged before the writes (the history must not include the batch), reported after them. */
  const judge = async (batch: Map<string, Pending>): Promise<TokenUseAnomalies[]> => {
    if (!onAnomalies) return [];
    const histories = await readUseHistory(store, batch);
    const settings = anomalySettings();
    const found: TokenUseAnomalies[] = [];
    for (const [tokenId, use] of batch) {
      const read = histories.get(tokenId);
      if (!read) continue;
      const sightings = [...use.sightings.values()].map((s) => ({ kind: s.kind, value: s.value, firstAt: s.first, address: s.address, app: s.app }));
      const anomalies = detectBatchAnomalies({ first: use.first, sightings }, read.history, settings);
      if (anomalies.length > 0) found.push({ ...read.identity, anomalies });
    }
    return found;
  };

  const report = (found: TokenUseAnomalies[]) => {
    if (found.length === 0 || !onAnomalies) return;
    const done = Promise.resolve()
      .then(() => onAnomalies(found))
      .catch((error: unknown) => log?.warn({ err: error instanceof Error ? error.message : String(error), tokens: found.map((f) => f.name) }, 'service token anomaly handler failed'))
      .finally(() => notifying.delete(done));
    notifying.add(done);
  };

  const writeBatch = async (batch: Map<string, Pending>): Promise<number> => {
    const found = await judge(batch);
    const sightings: { token_id: string; kind: 'network' | 'app'; value: string; first_seen_at: number; last_seen_at: number }[] = [];
    for (const [tokenId, use] of batch) {
      await store.db
        .updateTable('service_tokens')
        .set({ last_used_at: use.at, last_used_ip: use.ip, last_used_app: use.app, last_used_user_agent: use.userAgent })
        .where('id', '=', tokenId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', use.at)]))
        .execute();
      for (const s of use.sightings.values()) sightings.push({ token_id: tokenId, kind: s.kind, value: s.value, first_seen_at: s.first, last_seen_at: s.last });
    }
    const latest = store.dialect === 'postgres' ? sql`greatest` : sql`max`;
    for (let i = 0; i < sightings.length; i += 200) {
      await store.db
        .insertInto('service_token_sightings')
        .values(sightings.slice(i, i + 200))
        .onConflict((oc) =>
          oc.columns(['token_id', 'kind', 'value']).doUpdateSet({ last_seen_at: sql<number>`${latest}(service_token_sightings.last_seen_at, excluded.last_seen_at)` }),
        )
        .execute();
    }
    // Not awaited: a slow webhook must not hold the next write (nor the request path, which never waits).
    report(found);
    return batch.size;
  };

  const flush = (): Promise<number> => {
    if (running) return running.then(() => flush());
    if (pending.size === 0) return Promise.resolve(0);
    const batch = pending;
    pending = new Map();
    running = writeBatch(batch)
      .catch((error: unknown) => {
        // Keep what failed for the next write, unless newer use of the token arrived meanwhile.
        for (const [id, use] of batch) if (!pending.has(id) && pending.size < maxPending) pending.set(id, use);
        log?.warn({ err: error instanceof Error ? error.message : String(error), tokens: batch.size }, 'service token last-use write failed; will retry');
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const schedule = () => {
    if (timer) clearInterval(timer);
    timer = setInterval(() => void flush(), flushMs);
    timer.unref();
  };

  return {
    record({ clientId, at, clientAddress, app, userAgent }) {
      const tokenId = tokenIdOf(clientId);
      if (tokenId === undefined) return;
      const address = clientAddress.slice(0, MAX_ADDRESS);
      const appName = app.slice(0, MAX_APP);
      let entry = pending.get(tokenId);
      if (!entry) {
        // Full: start a write, which takes the pending map at once unless one is already running;
        // only then is this use dropped (counted), never memory grown.
        if (pending.size >= maxPending) void flush();
        if (pending.size >= maxPending) {
          dropped++;
          return;
        }
        entry = { first: { at, address, app: appName }, at, ip: '', app: '', userAgent: null, sightings: new Map() };
        pending.set(tokenId, entry);
      }
      if (at >= entry.at) {
        entry.at = at;
        entry.ip = address;
        entry.app = appName;
        entry.userAgent = cleanClientText(userAgent, MAX_USER_AGENT);
      }
      if (at < entry.first.at) entry.first = { at, address, app: appName };
      sight(entry, 'network', networkOf(clientAddress), at, address, appName);
      sight(entry, 'app', appName, at, address, appName);
    },
    flush,
    start() {
      if (!timer) schedule();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await flush();
      await Promise.all(notifying);
    },
    stats: () => ({ pending: pending.size, dropped }),
    setTiming(nextFlushMs, nextMaxPending) {
      maxPending = nextMaxPending;
      if (nextFlushMs !== flushMs) {
        flushMs = nextFlushMs;
        if (timer) schedule();
      }
    },
  };
}
