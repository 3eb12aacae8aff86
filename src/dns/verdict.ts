/**
 * The per-query verdict hook and the values the gateway reports. A verdict is a value, not a boolean
 * (STYLE.md habit 5). The shape is structural so the intel capability's DomainVerdict
 * (`{ action, reasons, humanReason }`) can be returned as is.
 */
import type { MemoryUse } from './byte-budget-lru.js';

export type VerdictAction = 'allow' | 'warn' | 'block';

export interface Verdict {
  /** `warn` resolves normally and is logged as a warning. */
  action: VerdictAction;
  reasons?: readonly { code: string; detail?: string }[];
  /** Short human text; goes into the EDE EXTRA-TEXT of a block. */
  humanReason?: string;
  /** RFC 8914 INFO-CODE for a block (default 15 Blocked). */
  infoCode?: number;
  /**
   * false: decides this query only and is not to be remembered for the name (`verdict_cache_ttl_s`):
   * it was made without a check that could not start for this client, and one client's flood must
   * not decide the name for everyone.
   */
  reusable?: boolean;
}

export interface ClientContext {
  /** Source address of the query (for DoH: the HTTP peer address). */
  address: string;
  protocol: 'udp' | 'tcp' | 'doh';
  /** Set for per-user DoH (token in the URL path). */
  user?: string;
  /** Name of the client policy that applies. */
  policy: string;
}

/**
 * Synchronous for the fast checks (lookalike, cached age); a Promise for the slow one (RDAP), which the
 * gateway waits for at most `classify_budget_ms`. A throw or rejection blocks (fail closed).
 */
export type ClassifyHook = (name: string, client: ClientContext) => Verdict | Promise<Verdict>;

export type QueryOutcome = 'allow' | 'warn' | 'block' | 'refused' | 'error';

/**
 * Where the gateway writes its query log: one call per query with the fields as arguments, so that a
 * query answered from the cache allocates nothing for its log entry (query-log-writer.ts keeps them in
 * columns). `at` is epoch ms, `latencyMs` from the query's arrival to its reply.
 */
export interface QueryLogSink {
  add(at: number, latencyMs: number, client: string, user: string | undefined, protocol: 'udp' | 'tcp' | 'doh', name: string, type: string, verdict: QueryOutcome, reason: string): void;
  /** Accounted bytes of the rows held, for the memory metrics (memory-budget.ts). */
  memoryUse?(): MemoryUse;
}

/** One query, as handed to the injected `onQuery` (tests, and any consumer that wants whole entries). */
export interface QueryLogEntry {
  client: string;
  user?: string;
  protocol: 'udp' | 'tcp' | 'doh';
  policy: string;
  name: string;
  type: string;
  verdict: QueryOutcome;
  /** Machine-readable: `blocklist:<name>`, `dynamic`, `classify:<code>`, `allowlist`, `servfail`, ... */
  reason: string;
  latencyMs: number;
  cached: boolean;
  rcode: number;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR',
  43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 52: 'TLSA', 64: 'SVCB', 65: 'HTTPS', 255: 'ANY', 257: 'CAA',
};

export function typeName(qtype: number): string {
  return TYPE_NAMES[qtype] ?? `TYPE${qtype}`;
}
