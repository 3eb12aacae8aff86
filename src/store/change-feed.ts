import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Clock } from '../lib/clock.js';
import type { Database } from './schema.js';
import type { Store } from './open-store.js';

/**
 * The change feed (ARCHITECTURE.md, data flow): every state change that a hot path must see is written
 * with a feed row in the same transaction; every instance tails the feed and applies it to its
 * in-memory snapshot. On PostgreSQL, NOTIFY inside the transaction is delivered at commit and wakes
 * the tailers at once; the poll is the safety net (and the only mechanism on SQLite).
 */
export interface Change {
  id: number;
  at: number;
  kind: string;
  payload: Record<string, unknown>;
}

export const FEED_CHANNEL = 'gatehouse_feed';

export async function publishChange(
  db: Kysely<Database>,
  store: Pick<Store, 'dialect'>,
  clock: Clock,
  kind: string,
  payload: Record<string, unknown>,
): Promise<void> {
  await db.insertInto('change_feed').values({ at: clock.now(), kind, payload: JSON.stringify(payload) }).execute();
  if (store.dialect === 'postgres') await sql`select pg_notify(${FEED_CHANNEL}, '')`.execute(db);
}

export interface ChangeFeedTail {
  stop(): Promise<void>;
  /** Reads the feed now (tests and the CLI use it to apply pending changes without waiting). */
  pollNow(): Promise<void>;
}

export interface TailOptions {
  store: Store;
  pollMs: number;
  onChange: (change: Change) => void;
  onError?: (error: unknown) => void;
  clock: Clock;
}

// PostgreSQL sequences hand out ids at insert time, not commit time: a transaction that took id 41 may
// commit after one that took 42. Ids skipped over are re-read for this long before being given up.
const GAP_WAIT_MS = 30_000;
const BATCH = 1000;
// The same process answers DNS and proxies requests: a mass change (an incident revoking 50,000
// sessions arrives as hundreds of rows) must not hold the event loop until every row is applied. On
// SQLite the reads are synchronous too, so nothing else would run in between. After this many rows, or
// this much time, the tail yields with setImmediate: the loop takes a full turn (DNS packets and proxy
// sockets in the poll phase, due timers) before the next slice.
const ROWS_PER_SLICE = 50;
const SLICE_BUDGET_MS = 10;

const turnOfTheLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function tailChangeFeed(options: TailOptions): Promise<ChangeFeedTail> {
  const { store, pollMs, onChange, clock } = options;
  const onError = options.onError ?? (() => {});
  const { db } = store;
  const head = await db.selectFrom('change_feed').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
  let lastId = Number(head?.max ?? 0);
  const gaps = new Map<number, number>(); // id -> first noticed (ms)
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const deliver = (row: { id: number; at: number; kind: string; payload: string }) => {
    let payload: Record<string, unknown> = {};
    try {
      payload = JSON.parse(row.payload) as Record<string, unknown>;
    } catch (error) {
      onError(error);
    }
    try {
      onChange({ id: Number(row.id), at: Number(row.at), kind: row.kind, payload });
    } catch (error) {
      onError(error);
    }
  };

  // Wall time on purpose, not the injected clock: this measures how long the loop has been held.
  let sliceRows = 0;
  let sliceStart = performance.now();
  const yieldIfDue = async () => {
    if (++sliceRows < ROWS_PER_SLICE && performance.now() - sliceStart < SLICE_BUDGET_MS) return;
    await turnOfTheLoop();
    sliceRows = 0;
    sliceStart = performance.now();
  };

  const readOnce = async () => {
    sliceRows = 0;
    sliceStart = performance.now();
    if (gaps.size > 0) {
      const now = clock.now();
      const late = await db.selectFrom('change_feed').selectAll().where('id', 'in', [...gaps.keys()]).execute();
      for (const row of late) {
        gaps.delete(Number(row.id));
        deliver(row);
        await yieldIfDue();
      }
      for (const [id, since] of gaps) if (now - since > GAP_WAIT_MS) gaps.delete(id);
    }
    for (;;) {
      const rows = await db
        .selectFrom('change_feed')
        .selectAll()
        .where('id', '>', lastId)
        .orderBy('id')
        .limit(BATCH)
        .execute();
      for (const row of rows) {
        const id = Number(row.id);
        if (store.dialect === 'postgres') for (let missing = lastId + 1; missing < id; missing++) gaps.set(missing, clock.now());
        lastId = id;
        deliver(row);
        await yieldIfDue();
      }
      if (rows.length < BATCH) break;
    }
  };

  const poll = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await readOnce();
        } catch (error) {
          onError(error);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => void poll(), pollMs);
  timer.unref();

  let listener: pg.Client | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  const listen = async () => {
    if (!store.postgresUrl || stopped) return;
    const client = new pg.Client({ connectionString: store.postgresUrl });
    client.on('notification', () => void poll());
    client.on('error', (error) => {
      onError(error);
      client.end().catch(() => {});
      if (listener === client) listener = undefined;
      if (!stopped) reconnectTimer = setTimeout(() => void listen(), 1000).unref();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${FEED_CHANNEL}`);
      listener = client;
      void poll(); // anything committed while we were not listening
    } catch (error) {
      onError(error);
      client.end().catch(() => {});
      if (!stopped) reconnectTimer = setTimeout(() => void listen(), 1000).unref();
    }
  };
  await listen();

  return {
    pollNow: poll,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await running;
      await listener?.end().catch(() => {});
    },
  };
}

/** Feed rows are only needed until every instance has read them; keep a day for slow starters. */
export async function pruneChangeFeed(db: Kysely<Database>, olderThanMs: number): Promise<number> {
  const result = await db.deleteFrom('change_feed').where('at', '<', olderThanMs).executeTakeFirst();
  return Number(result.numDeletedRows ?? 0);
}
