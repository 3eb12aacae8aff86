/**
 * Cache of upstream answers in wire form. TTLs are clamped to the configured [min, max]; negative
 * answers (NXDOMAIN / NODATA) are kept for the SOA-derived TTL of RFC 2308 §5, capped separately;
 * answers that carry no TTL bound (negative without SOA, SERVFAIL) are not cached. A hit is served by
 * copying the template and rewriting ID, question case, TTLs (decremented by the entry's age) and OPT.
 */
import type { UpstreamAnswer } from './upstream-answer.js';
import { responseFlags } from './wire-response.js';

export interface CacheLimits {
  minTtlS: number;
  maxTtlS: number;
  negativeMaxTtlS: number;
  maxEntries: number;
}

export interface CacheEntry {
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
  return {
    template: answer.template,
    questionEnd: answer.questionEnd,
    ttlOffsets: Uint16Array.from(answer.ttlOffsets),
    ttls: capped,
    storedAt: now,
    expiresAt: now + lifetime * 1000,
    rcode: answer.rcode,
    ttlS: lifetime,
  };
}

export class ResponseCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly limits: CacheLimits) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: CacheEntry): void {
    if (this.limits.maxEntries <= 0) return;
    this.entries.delete(key);
    // Oldest-inserted first: a Map iterates in insertion order, which gives FIFO eviction for free.
    while (this.entries.size >= this.limits.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * Writes a reply to `query` from a cached entry. `questionEnd` must match the entry's (same name, so
 * same length); the question bytes come from the query so the client's letter case is echoed.
 */
export function renderCachedReply(entry: CacheEntry, query: Uint8Array, id: number, queryFlags: number, now: number, opt: Buffer | undefined): Buffer {
  const templateLength = entry.template.length;
  const out = Buffer.allocUnsafe(templateLength + (opt ? opt.length : 0));
  entry.template.copy(out, 0, 0, templateLength);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(responseFlags(queryFlags, entry.rcode), 2);
  out.set(query.subarray(12, entry.questionEnd), 12);
  const age = Math.floor((now - entry.storedAt) / 1000);
  const offsets = entry.ttlOffsets;
  const ttls = entry.ttls;
  for (let i = 0; i < offsets.length; i++) {
    const ttl = ttls[i]! - age;
    out.writeUInt32BE(ttl > 0 ? ttl : 0, offsets[i]!);
  }
  if (opt) {
    opt.copy(out, templateLength);
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  }
  return out;
}
