/**
 * Decisions already taken for a question, so a repeat query from a client of the same policy is
 * answered straight from the cached wire response: no list look-ups, no verdict hook, no string keys.
 * An entry holds the outcome the full pipeline reached (allow, warn; with its log reason) and the
 * cache entry it answered from. It is served only while every input to that decision still holds:
 *  - the lists: any change (refresh, dynamic block, allowlist) clears the whole table (`clear`);
 *  - the verdict hook's memo: `freshUntil` is at most the memo's expiry;
 *  - the cached answer: `freshUntil` ends where the prefetch window starts (the last tenth of the TTL),
 *    so from then on queries take the full path, which refreshes the answer and stores a new entry.
 * Blocked names are not kept here: their replies are built from the query in one step already.
 * Per-user DoH (a user's own verdicts) always takes the full path.
 *
 * A hit reads the entry and the reply template and nothing else (no name string, no cache entry), since
 * between two datagrams the kernel and the client evict most of the process from the CPU caches and
 * each further object costs a miss.
 *
 * The table is bounded by accounted bytes (a share of `dns.memory_budget_mb`) and by count, across all
 * policies together, evicting the least recently used (byte-budget-lru.ts): a hit marks the entry with
 * one field write, so the hot path stays free of allocation and Map reordering.
 */
import { ByteBudgetLru, type MemoryUse } from './byte-budget-lru.js';
import type { ClientPolicy } from './client-policies.js';
import type { DomainHasher } from './domain-hash.js';
import { hotAnswerBytes } from './memory-budget.js';
import { refreshTemplateTtls, type CacheEntry } from './response-cache.js';
import type { QueryOutcome } from './verdict.js';

export class HotAnswer {
  readonly template: Buffer;
  readonly questionEnd: number;
  readonly rcode: number;
  /** When the template's TTLs (shared with every user of `entry`) next need rewriting. */
  ttlsUntil = 0;
  /** The policy whose table holds this answer; set by `remember`. */
  policy: ClientPolicy | undefined = undefined;
  accountedBytes = 0;
  recentlyUsed = false;

  constructor(
    /** Lower-case dotted name (for the query log). */
    readonly name: string,
    readonly qtype: number,
    readonly dnssecOk: boolean,
    readonly typeName: string,
    readonly outcome: QueryOutcome,
    readonly reason: string,
    readonly entry: CacheEntry,
    /** Epoch ms until which the entry may be served without running the pipeline. */
    readonly freshUntil: number,
  ) {
    this.template = entry.template;
    this.questionEnd = entry.questionEnd;
    this.rcode = entry.rcode;
  }

  /**
   * Rewrites the template's TTLs when the entry's age has moved on since this answer last looked, and
   * then also marks the cache entry used (hits here bypass the cache), so a popular name keeps its
   * cache entry for the prefetch window instead of losing it to a flood; at most once a second, when
   * the entry is touched anyway.
   */
  refreshTtls(now: number): void {
    if (now >= this.ttlsUntil) {
      this.ttlsUntil = refreshTemplateTtls(this.entry, now);
      this.entry.recentlyUsed = true;
    }
  }
}

const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);

export class HotAnswerTable {
  /** One table for every client policy, keyed by a seeded hash of the question and the policy's number. */
  private readonly table: ByteBudgetLru<number, HotAnswer>;
  /** A small number per client policy (a handful, from the config), folded into the key. */
  private readonly policyIds = new Map<ClientPolicy, number>();

  constructor(
    maxEntries: number,
    private readonly hasher: DomainHasher,
    /** Accounted bytes the table may hold (memory-budget.ts); unbounded when absent. */
    maxBytes = Infinity,
  ) {
    this.table = new ByteBudgetLru(maxBytes, maxEntries);
  }

  get size(): number {
    return this.table.size;
  }

  memoryUse(): MemoryUse {
    return this.table.memoryUse();
  }

  /** The seeded 64-bit name hash (DomainHasher, hostile names cannot aim at a slot) folded with type, DO and policy into a small integer. */
  private key(bytes: Uint8Array, length: number, qtype: number, dnssecOk: boolean, policyId: number): number {
    this.hasher.hashName(bytes, 0, length);
    return (this.hasher.hi ^ Math.imul(this.hasher.lo, 31) ^ Math.imul(qtype, 0x9e3779b1) ^ (dnssecOk ? 0x5bd1e995 : 0) ^ Math.imul(policyId, 0x27d4eb2f)) & 0x3fffffff;
  }

  /**
   * The entry for the query whose lower-case name is in `scratch[0, nameLength)` and whose question
   * ends at `questionEnd` in `query`, if it is still fresh at `now`. The question's name is compared
   * with the template's byte for byte, ignoring ASCII case (RFC 4343), so a hash collision is a miss.
   */
  find(policy: ClientPolicy, scratch: Uint8Array, nameLength: number, query: Uint8Array, questionEnd: number, qtype: number, dnssecOk: boolean, now: number): HotAnswer | undefined {
    const policyId = this.policyIds.get(policy);
    if (policyId === undefined) return undefined;
    const hot = this.table.peek(this.key(scratch, nameLength, qtype, dnssecOk, policyId));
    if (hot === undefined || hot.policy !== policy || hot.questionEnd !== questionEnd || hot.qtype !== qtype || hot.dnssecOk !== dnssecOk || now >= hot.freshUntil) return undefined;
    // The wire name: label lengths (below 64, never a letter's code) and letters. QTYPE and QCLASS,
    // the last four bytes, are checked above (the class is IN for every hot entry).
    const template = hot.template;
    for (let i = 12; i < questionEnd - 4; i++) if (lower(query[i]!) !== lower(template[i]!)) return undefined;
    hot.recentlyUsed = true;
    return hot;
  }

  remember(policy: ClientPolicy, hot: HotAnswer): void {
    let policyId = this.policyIds.get(policy);
    if (policyId === undefined) {
      policyId = this.policyIds.size;
      this.policyIds.set(policy, policyId);
    }
    const bytes = Buffer.from(hot.name, 'latin1');
    hot.policy = policy;
    // The cache entry is charged here too: this answer keeps it alive if the cache drops it first.
    hot.accountedBytes = hotAnswerBytes(hot.name, hot.entry);
    this.table.set(this.key(bytes, bytes.length, hot.qtype, hot.dnssecOk, policyId), hot);
  }

  clear(): void {
    this.table.clear();
  }
}
