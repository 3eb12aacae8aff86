/**
 * Query counters as plain numbers (read by tests, `listState`, and the admin API), optionally exposed
 * as prom-client metrics on an injected registry. The hot path only increments numbers; prom-client
 * reads them at scrape time through `collect()`.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MemoryUse } from './byte-budget-lru.js';

/** Per-name structures bounded by `dns.memory_budget_mb`, by name (answer_cache, hot_answers, ...). */
export type DnsMemoryUse = Record<string, MemoryUse>;

export interface DnsMetricsSnapshot {
  queries: Record<'udp' | 'tcp' | 'doh', number>;
  blocked: Record<string, number>;
  cacheHits: number;
  cacheMisses: number;
  upstreamQueries: number;
  upstreamFailures: number;
  upstreamLatencyMsSum: number;
  servfail: number;
  /** Answers served stale from the cache because every upstream failed (RFC 8767). */
  staleAnswers: number;
  refused: number;
  formerr: number;
  notimp: number;
  badvers: number;
  dropped: number;
}

export class DnsMetrics {
  readonly queries = { udp: 0, tcp: 0, doh: 0 };
  readonly blocked = new Map<string, number>();
  cacheHits = 0;
  cacheMisses = 0;
  upstreamQueries = 0;
  upstreamFailures = 0;
  upstreamLatencyMsSum = 0;
  servfail = 0;
  staleAnswers = 0;
  refused = 0;
  formerr = 0;
  notimp = 0;
  badvers = 0;
  dropped = 0;
  private latencyHistogram: Histogram | undefined;

  countBlock(kind: string): void {
    this.blocked.set(kind, (this.blocked.get(kind) ?? 0) + 1);
  }

  observeUpstream(latencyMs: number): void {
    this.upstreamQueries++;
    this.upstreamLatencyMsSum += latencyMs;
    this.latencyHistogram?.observe(latencyMs / 1000);
  }

  snapshot(): DnsMetricsSnapshot {
    return {
      queries: { ...this.queries },
      blocked: Object.fromEntries(this.blocked),
      cacheHits: this.cacheHits,
      cacheMisses: this.cacheMisses,
      upstreamQueries: this.upstreamQueries,
      upstreamFailures: this.upstreamFailures,
      upstreamLatencyMsSum: this.upstreamLatencyMsSum,
      servfail: this.servfail,
      staleAnswers: this.staleAnswers,
      refused: this.refused,
      formerr: this.formerr,
      notimp: this.notimp,
      badvers: this.badvers,
      dropped: this.dropped,
    };
  }

  /** Registers `gatehouse_dns_*` metrics on `registry`; call once per registry. */
  register(registry: Registry, cacheSize: () => number, memoryUse?: () => DnsMemoryUse): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` to the metric inside collect()
    const metrics = this;
    new Counter({
      name: 'gatehouse_dns_queries_total', help: 'DNS queries received, by transport.', labelNames: ['protocol'], registers: [registry],
      collect() {
        this.reset();
        for (const [protocol, value] of Object.entries(metrics.queries)) this.inc({ protocol }, value);
      },
    });
    new Counter({
      name: 'gatehouse_dns_blocked_total', help: 'Queries blocked, by reason (list name, dynamic, classify).', labelNames: ['reason'], registers: [registry],
      collect() {
        this.reset();
        for (const [reason, value] of metrics.blocked) this.inc({ reason }, value);
      },
    });
    new Counter({
      name: 'gatehouse_dns_cache_lookups_total', help: 'Answer cache lookups, by result.', labelNames: ['result'], registers: [registry],
      collect() {
        this.reset();
        this.inc({ result: 'hit' }, metrics.cacheHits);
        this.inc({ result: 'miss' }, metrics.cacheMisses);
      },
    });
    new Counter({
      name: 'gatehouse_dns_responses_total', help: 'Error responses sent, by rcode.', labelNames: ['rcode'], registers: [registry],
      collect() {
        this.reset();
        this.inc({ rcode: 'SERVFAIL' }, metrics.servfail);
        this.inc({ rcode: 'REFUSED' }, metrics.refused);
        this.inc({ rcode: 'FORMERR' }, metrics.formerr);
        this.inc({ rcode: 'NOTIMP' }, metrics.notimp);
        this.inc({ rcode: 'BADVERS' }, metrics.badvers);
      },
    });
    new Counter({
      name: 'gatehouse_dns_stale_answers_total', help: 'Expired answers served because every upstream failed (RFC 8767).', registers: [registry],
      collect() {
        this.reset();
        this.inc(metrics.staleAnswers);
      },
    });
    new Counter({
      name: 'gatehouse_dns_upstream_failures_total', help: 'Upstream attempts that failed (timeout, error rcode, bad reply).', registers: [registry],
      collect() {
        this.reset();
        this.inc(metrics.upstreamFailures);
      },
    });
    new Gauge({
      name: 'gatehouse_dns_cache_entries', help: 'Answers held in the cache.', registers: [registry],
      collect() {
        this.set(cacheSize());
      },
    });
    if (memoryUse) {
      new Gauge({
        name: 'gatehouse_dns_memory_bytes', help: 'Accounted bytes held by each per-name structure (dns.memory_budget_mb).', labelNames: ['structure'], registers: [registry],
        collect() {
          for (const [structure, use] of Object.entries(memoryUse())) this.set({ structure }, use.bytes);
        },
      });
      new Gauge({
        name: 'gatehouse_dns_memory_budget_bytes', help: 'Share of dns.memory_budget_mb given to each per-name structure.', labelNames: ['structure'], registers: [registry],
        collect() {
          for (const [structure, use] of Object.entries(memoryUse())) this.set({ structure }, use.maxBytes);
        },
      });
      new Counter({
        name: 'gatehouse_dns_memory_evictions_total', help: 'Entries evicted (log rows dropped) to stay within the memory budget.', labelNames: ['structure'], registers: [registry],
        collect() {
          this.reset();
          for (const [structure, use] of Object.entries(memoryUse())) this.inc({ structure }, use.evictions);
        },
      });
    }
    this.latencyHistogram = new Histogram({
      name: 'gatehouse_dns_upstream_latency_seconds', help: 'Time for an upstream resolver to answer a forwarded query.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
    });
  }
}
