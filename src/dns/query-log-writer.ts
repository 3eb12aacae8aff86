import type { Store } from '../store/index.js';
import type { MemoryUse } from './byte-budget-lru.js';
import { queryLogRowBytes } from './memory-budget.js';
import type { QueryLogSink, QueryOutcome } from './verdict.js';

export interface QueryLogWriterOptions {
  store: Store;
  now: () => number;
  flushIntervalMs: number;
  maxBuffer: number;
  /** Accounted bytes the unwritten rows may hold (memory-budget.ts); only `maxBuffer` bounds them when absent. */
  maxBytes?: number;
  retentionDays: number;
  onError: (error: unknown) => void;
}

const INSERT_BATCH = 500;
const INITIAL_CAPACITY = 1024;

type Protocol = 'udp' | 'tcp' | 'doh';

/**
 * The query log: every query is buffered in memory and written in batches on a timer, never
 * on the query path. If the database falls behind, the oldest unwritten entries are dropped and counted
 * rather than letting memory grow without bound. Rows older than the retention are deleted hourly.
 *
 * The buffer is a ring of columns, not an array of objects: at 100,000 queries a second, one object per
 * query kept for up to a flush interval is promoted out of V8's young generation and costs more CPU
 * than answering the query did. Here a query costs a few array stores; the strings it points to (name,
 * type, reason, policy) are mostly shared with the answer cache.
 *
 * Under a flood of unique names every row brings its own name string, so the ring is also bounded by
 * accounted bytes (`maxBytes`, a share of `dns.memory_budget_mb`): the oldest unwritten rows are
 * dropped and counted, as when `maxBuffer` is reached.
 */
export class QueryLogWriter implements QueryLogSink {
  private capacity = 0;
  private at = new Float64Array(0);
  private latencyMs = new Float64Array(0);
  private client: string[] = [];
  private user: (string | undefined)[] = [];
  private protocol: Protocol[] = [];
  private name: string[] = [];
  private type: string[] = [];
  private verdict: QueryOutcome[] = [];
  private reason: string[] = [];
  /** Slot of the oldest unwritten entry, and how many there are. */
  private head = 0;
  private count = 0;
  private bufferedBytes = 0;
  private readonly maxBytes: number;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  dropped = 0;
  written = 0;

  constructor(private readonly options: QueryLogWriterOptions) {
    this.maxBytes = options.maxBytes ?? Infinity;
  }

  /** Entries waiting to be written. */
  get pending(): number {
    return this.count;
  }

  memoryUse(): MemoryUse {
    return { bytes: this.bufferedBytes, maxBytes: this.maxBytes, entries: this.count, evictions: this.dropped };
  }

  /** Accounted bytes of the row in `slot`. */
  private rowBytes(slot: number): number {
    return queryLogRowBytes(this.name[slot]!, this.client[slot]!, this.user[slot]);
  }

  /** Subtracts the row in `slot` and lets go of its own strings, which a spent slot must not keep alive. */
  private release(slot: number): void {
    this.bufferedBytes -= this.rowBytes(slot);
    this.name[slot] = '';
    this.client[slot] = '';
    this.user[slot] = undefined;
  }

  /** Forgets the oldest unwritten row (full ring or over the byte budget); counted as dropped. */
  private dropOldest(): void {
    this.release(this.head);
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    this.dropped++;
  }

  add(at: number, latencyMs: number, client: string, user: string | undefined, protocol: Protocol, name: string, type: string, verdict: QueryOutcome, reason: string): void {
    const bytes = queryLogRowBytes(name, client, user);
    if (bytes > this.maxBytes) {
      this.dropped++;
      return;
    }
    while (this.count > 0 && this.bufferedBytes + bytes > this.maxBytes) this.dropOldest();
    if (this.count === this.capacity && !this.grow()) this.dropOldest();
    this.bufferedBytes += bytes;
    let slot = this.head + this.count;
    if (slot >= this.capacity) slot -= this.capacity;
    this.count++;
    this.at[slot] = at;
    this.latencyMs[slot] = latencyMs;
    this.client[slot] = client;
    this.user[slot] = user;
    this.protocol[slot] = protocol;
    this.name[slot] = name;
    this.type[slot] = type;
    this.verdict[slot] = verdict;
    this.reason[slot] = reason;
  }

  /** Doubles the ring up to `maxBuffer` (a quiet resolver never holds the full buffer); false at the cap. */
  private grow(): boolean {
    const capacity = Math.min(this.options.maxBuffer, Math.max(INITIAL_CAPACITY, this.capacity * 2));
    if (capacity <= this.capacity) return false;
    const order = (column: ArrayLike<unknown>) => Array.from({ length: this.count }, (_, i) => column[(this.head + i) % this.capacity]);
    const at = new Float64Array(capacity);
    const latencyMs = new Float64Array(capacity);
    at.set(order(this.at) as number[]);
    latencyMs.set(order(this.latencyMs) as number[]);
    this.at = at;
    this.latencyMs = latencyMs;
    this.client = order(this.client) as string[];
    this.user = order(this.user) as (string | undefined)[];
    this.protocol = order(this.protocol) as Protocol[];
    this.name = order(this.name) as string[];
    this.type = order(this.type) as string[];
    this.verdict = order(this.verdict) as QueryOutcome[];
    this.reason = order(this.reason) as string[];
    this.head = 0;
    this.capacity = capacity;
    return true;
  }

  /** Takes up to `limit` of the oldest entries out of the ring, as rows for the `dns_queries` table. */
  private take(limit: number) {
    const rows = [];
    const n = Math.min(limit, this.count);
    for (let i = 0; i < n; i++) {
      const slot = this.head;
      rows.push({
        at: this.at[slot]!,
        client: this.client[slot]!,
        user_id: this.user[slot] ?? null,
        protocol: this.protocol[slot]!,
        name: this.name[slot]!,
        type: this.type[slot]!,
        verdict: this.verdict[slot]!,
        reason: this.reason[slot]!.slice(0, 300),
        latency_ms: Math.round(this.latencyMs[slot]! * 1000) / 1000,
      });
      this.release(slot);
      this.head = slot + 1 === this.capacity ? 0 : slot + 1;
      this.count--;
    }
    return rows;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
    this.pruneTimer = setInterval(() => void this.prune().catch(this.options.onError), 3_600_000);
    this.pruneTimer.unref();
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      while (this.count > 0) {
        const batch = this.take(INSERT_BATCH);
        try {
          await this.options.store.db.insertInto('dns_queries').values(batch).execute();
          this.written += batch.length;
        } catch (error) {
          this.dropped += batch.length;
          this.options.onError(error);
          break;
        }
      }
    })().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async prune(): Promise<number> {
    const cutoff = this.options.now() - this.options.retentionDays * 86_400_000;
    const result = await this.options.store.db.deleteFrom('dns_queries').where('at', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    await this.flush();
  }
}
