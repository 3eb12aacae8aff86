import type { ProxyLogger } from './proxy-error.js';

export type OverloadCode = 'upstream_queue_full' | 'upstream_queue_timeout' | 'client_concurrency_limit';

const OVERLOAD_CODES: readonly OverloadCode[] = ['upstream_queue_full', 'upstream_queue_timeout', 'client_concurrency_limit'];

/**
 * Counts overload refusals per app and code, and logs them at most once per code and app per
 * interval. Overload is exactly when a log line per request would hurt most: a flood of 503s must
 * not turn into a flood of log writes (disk, log shipper) on top of it.
 */
export class OverloadLog {
  private readonly counts = new Map<string, Record<OverloadCode, number>>();
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: ProxyLogger | undefined,
    private readonly now: () => number,
    private readonly intervalMs = 10_000,
  ) {}

  record(app: string, code: OverloadCode, details: { requestId?: string | undefined; detail?: string | undefined; client?: string | undefined }): void {
    const counts = this.countsOf(app);
    counts[code]++;
    if (this.logger === undefined) return;
    const key = `${code} ${app}`;
    const now = this.now();
    const last = this.lastLogged.get(key);
    if (last !== undefined && now - last.at < this.intervalMs) {
      last.suppressed++;
      return;
    }
    this.lastLogged.set(key, { at: now, suppressed: 0 });
    this.logger.warn({ code, app, ...details, suppressedSinceLast: last?.suppressed ?? 0 }, 'request refused: app overloaded');
  }

  /** Refusals since start, per code (the proxy has no metrics registry of its own; this is its counter). */
  countsOf(app: string): Record<OverloadCode, number> {
    let counts = this.counts.get(app);
    if (counts === undefined) {
      counts = Object.fromEntries(OVERLOAD_CODES.map((code) => [code, 0])) as Record<OverloadCode, number>;
      this.counts.set(app, counts);
    }
    return counts;
  }
}
