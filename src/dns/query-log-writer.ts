import type { Store } from '../store/index.js';
import type { QueryLogEntry } from './verdict.js';

export interface QueryLogWriterOptions {
  store: Store;
  now: () => number;
  flushIntervalMs: number;
  maxBuffer: number;
  retentionDays: number;
  onError: (error: unknown) => void;
}

const INSERT_BATCH = 500;

/**
 * The query log (issue 4 §6): entries are buffered in memory and written in batches on a timer, never on
 * the query path. If the database falls behind, the oldest unwritten entries are dropped and counted
 * rather than letting memory grow without bound. Rows older than the retention are deleted hourly.
 */
export class QueryLogWriter {
  private buffer: (QueryLogEntry & { at: number })[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  dropped = 0;
  written = 0;

  constructor(private readonly options: QueryLogWriterOptions) {}

  record = (entry: QueryLogEntry): void => {
    if (this.buffer.length >= this.options.maxBuffer) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push({ ...entry, at: this.options.now() });
  };

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
    this.pruneTimer = setInterval(() => void this.prune().catch(this.options.onError), 3_600_000);
    this.pruneTimer.unref();
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, INSERT_BATCH);
        try {
          await this.options.store.db
            .insertInto('dns_queries')
            .values(
              batch.map((e) => ({
                at: e.at,
                client: e.client,
                user_id: e.user ?? null,
                protocol: e.protocol,
                name: e.name,
                type: e.type,
                verdict: e.verdict,
                reason: e.reason.slice(0, 300),
                latency_ms: Math.round(e.latencyMs * 1000) / 1000,
              })),
            )
            .execute();
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
