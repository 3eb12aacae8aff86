/**
 * Cache of upstream answers in wire form. TTLs are clamped to the configured [min, max]; negative
 * answers (NXDOMAIN / NODATA) are kept for the SOA-derived TTL of RFC 2308 §5, capped separately;
 * answers that carry no TTL bound (negative without SOA, SERVFAIL) are not cached. An expired entry is
 * kept for the serve-stale window (RFC 8767 §5), answered only when no upstream can be. A hit is served by
 * copying the template and rewriting ID, flags, question case and OPT; the template's TTL fields are
 * rewritten in place once per second of the entry's age, not on every hit.
 *
 * The cache is bounded by accounted bytes (`maxBytes`, a share of `dns.memory_budget_mb`) as well as by
 * count: under a random-subdomain flood every miss stores a negative answer (RFC 2308 still applies),
 * and the byte bound evicts the least recently used of them instead of letting memory grow.
 */
import { ByteBudgetLru, type MemoryUse } from './byte-budget-lru.js';
import { cacheEntryBytes } from './memory-budget.js';
import type { UpstreamAnswer } from './upstream-answer.js';
import { responseFlags } from './wire-response.js';

export interface CacheLimits {
  minTtlS: number;
  maxTtlS: number;
  negativeMaxTtlS: number;
  maxEntries: number;
  /** Accounted bytes the cache may hold (memory-budget.ts); unbounded when absent. */
  maxBytes?: number;
}

export interface CacheEntry {
  /** The upstream reply without OPT; its TTL fields hold `ttls` minus `renderedAge` (see renderCachedReply). */
  template: Buffer;
  questionEnd: number;
  ttlOffsets: Uint16Array;
  /** Each record's TTL after clamping, in seconds. */
  ttls: Uint32Array;
  storedAt: number;
  expiresAt: number;
  rcode: number;
  /** Seconds the entry lives, as first stored (DoH Cache-Control, RFC 8484 §5.1). */
  ttlS: number;
  /** Age in whole seconds the template's TTL fields were last written for; -1 before the first reply. */
  renderedAge: number;
  /** Set by the cache when stored (byte-budget-lru.ts). */
  accountedBytes: number;
  recentlyUsed: boolean;
}

/** An entry for `answer` with the given clamped TTLs, stored at `now` and living `lifetimeS` seconds. */
export function newCacheEntry(answer: UpstreamAnswer, ttls: Uint32Array, now: number, lifetimeS: number): CacheEntry {
  return {
    template: answer.template,
    questionEnd: answer.questionEnd,
    ttlOffsets: Uint16Array.from(answer.ttlOffsets),
    ttls,
    storedAt: now,
    expiresAt: now + lifetimeS * 1000,
    rcode: answer.rcode,
    ttlS: lifetimeS,
    renderedAge: -1,
    accountedBytes: 0,
    recentlyUsed: false,
  };
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/** Turns a validated upstream answer into a cache entry, or null when it must not be cached. */
export function toCacheEntry(answer: UpstreamAnswer, limits: CacheLimits, now: number): CacheEntry | null {
  let lifetime: number;
  const capped = new Uint32Array(answer.ttls.length);
  if (answer.answerCount > 0 && answer.rcode === 0) {
    lifetime = Infinity;
    for (let i = 0; i < answer.ttls.length; i++) {
      capped[i] = clamp(answer.ttls[i]!, limits.minTtlS, limits.maxTtlS);
      lifetime = Math.min(lifetime, capped[i]!);
    }
  } else if (answer.negativeTtl !== null) {
    lifetime = clamp(answer.negativeTtl, limits.minTtlS, Math.min(limits.maxTtlS, limits.negativeMaxTtlS));
    // RFC 2308 §3: the SOA's TTL in a negative answer is the negative-caching TTL.
    for (let i = 0; i < capped.length; i++) capped[i] = Math.min(clamp(answer.ttls[i]!, limits.minTtlS, limits.maxTtlS), lifetime);
  } else {
    return null;
  }
  if (!Number.isFinite(lifetime) || lifetime <= 0) return null;
  return newCacheEntry(answer, capped, now, lifetime);
}

export class ResponseCache {
  private readonly entries: ByteBudgetLru<string, CacheEntry>;

  /** `serveStaleMs`: how long an expired entry is kept for `getStale` (RFC 8767 §5); 0 keeps none. */
  constructor(limits: CacheLimits, private readonly serveStaleMs = 0) {
    this.entries = new ByteBudgetLru(limits.maxBytes ?? Infinity, limits.maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  memoryUse(): MemoryUse {
    return this.entries.memoryUse();
  }

  get(key: string, now: number): CacheEntry | undefined {
    const entry = this.entries.peek(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      if (entry.expiresAt + this.serveStaleMs <= now) this.entries.delete(key);
      return undefined;
    }
    entry.recentlyUsed = true;
    return entry;
  }

  /** The entry, fresh or expired within the serve-stale window: for when every upstream failed. */
  getStale(key: string, now: number): CacheEntry | undefined {
    const entry = this.entries.peek(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt + this.serveStaleMs <= now) {
      this.entries.delete(key);
      return undefined;
    }
    entry.recentlyUsed = true;
    return entry;
  }

  set(key: string, entry: CacheEntry): void {
    entry.accountedBytes = cacheEntryBytes(key, entry);
    this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * Brings the template's TTL fields to the entry's age at `now`: the clamped TTLs minus the age in whole
 * seconds (RFC 1035 §7.1: a cached record's TTL counts down), floored at 0. Writes only when the age
 * changed. Returns the time at which they next change.
 */
export function refreshTemplateTtls(entry: CacheEntry, now: number): number {
  // A clock stepped back must not stretch a TTL past what the upstream gave.
  const age = now > entry.storedAt ? Math.floor((now - entry.storedAt) / 1000) : 0;
  if (age !== entry.renderedAge) {
    // Every reply overwrites ID, flags and question, so only the TTLs need the template kept current.
    const template = entry.template;
    const offsets = entry.ttlOffsets;
    const ttls = entry.ttls;
    for (let i = 0; i < offsets.length; i++) {
      const ttl = ttls[i]! - age;
      template.writeUInt32BE(ttl > 0 ? ttl : 0, offsets[i]!);
    }
    entry.renderedAge = age;
  }
  return entry.storedAt + (age + 1) * 1000;
}

/**
 * Writes a reply to `query` from a cached entry. `questionEnd` must match the entry's (same name, so
 * same length); the question bytes come from the query so the client's letter case is echoed (DNS 0x20
 * resolvers compare it).
 */
export function renderCachedReply(entry: CacheEntry, query: Uint8Array, id: number, queryFlags: number, now: number, opt: Buffer | undefined): Buffer {
  refreshTemplateTtls(entry, now);
  return writeReply(entry.template, entry.questionEnd, entry.rcode, query, id, queryFlags, opt);
}

/**
 * A reply from an expired entry with every TTL set to `ttlS`: RFC 8767 §4 recommends 30 s, so clients
 * come back soon to an upstream that may have recovered. The template itself is left as it was.
 */
export function renderStaleReply(entry: CacheEntry, query: Uint8Array, id: number, queryFlags: number, ttlS: number, opt: Buffer | undefined): Buffer {
  const out = writeReply(entry.template, entry.questionEnd, entry.rcode, query, id, queryFlags, opt);
  for (let i = 0; i < entry.ttlOffsets.length; i++) out.writeUInt32BE(ttlS, entry.ttlOffsets[i]!);
  return out;
}

/** The template with the query's ID, RD/CD bits and question bytes, and `opt` appended (counted in ARCOUNT). */
export function writeReply(template: Buffer, questionEnd: number, rcode: number, query: Uint8Array, id: number, queryFlags: number, opt: Buffer | undefined): Buffer {
  const templateLength = template.length;
  const out = Buffer.allocUnsafe(templateLength + (opt ? opt.length : 0));
  out.set(template);
  out[0] = id >>> 8;
  out[1] = id & 0xff;
  const flags = responseFlags(queryFlags, rcode);
  out[2] = flags >>> 8;
  out[3] = flags & 0xff;
  for (let i = 12; i < questionEnd; i++) out[i] = query[i]!;
  if (opt) {
    out.set(opt, templateLength);
    const arcount = ((out[10]! << 8) | out[11]!) + 1;
    out[10] = arcount >>> 8;
    out[11] = arcount & 0xff;
  }
  return out;
}
