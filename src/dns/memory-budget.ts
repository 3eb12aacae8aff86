/**
 * `dns.memory_budget_mb` split between the per-name structures of the resolver, and what each entry is
 * charged. One knob, because an operator sizes a resolver by RAM, not by four entry counts whose
 * entries differ tenfold in size; fixed shares, because under a flood of unique names each structure
 * fills whatever it is given, so one must not starve another.
 *
 * Shares: the answer cache holds the wire answers a hit is served from, and its entries are the
 * largest (55%); the hot answers are a per-policy index over the popular ones, each charged for the
 * whole cache entry it keeps alive as well as its own bytes (20%); the query log ring holds the rows
 * waiting for the next flush, about `query_log.max_buffer` of them (15%); the verdict memo's entries
 * are small (10%). An entry held by both the cache and a hot answer is charged twice, so the sum of
 * the charges bounds what the structures keep alive.
 *
 * Per-entry charges: strings at 2 bytes a character (V8 keeps DNS names one byte a character, so this
 * is an upper bound), Buffers and typed arrays at their length, plus a fixed overhead for the objects,
 * Map slot and ArrayBuffer bookkeeping around them. The overheads were measured once with
 * `node --expose-gc --import tsx bench/dns/entry-overhead.ts` (200,000 entries built the way the
 * resolver builds them, heap + external memory and RSS after a full GC, minus the variable bytes;
 * the larger of the two, rounded up). Two runs on Node 20, x64, heap+external / RSS per entry: answer
 * cache 880 / 1,118-1,241 B of which 161 B variable (the template has its own ArrayBuffer, outside
 * Node's pool, and a malloc'd backing store); hot answer 229 / 191-216 B, 26 variable; verdict memo
 * 269 / 282-295 B, 35 variable; query log row 179 / 160-171 B, 37 variable.
 */
import type { CacheEntry } from './response-cache.js';

export interface DnsMemoryBudget {
  answerCacheBytes: number;
  hotAnswerBytes: number;
  verdictMemoBytes: number;
  queryLogBytes: number;
}

export const MEMORY_SHARES = { answerCache: 0.55, hotAnswers: 0.2, verdictMemo: 0.1, queryLog: 0.15 } as const;

const MB = 1024 * 1024;

export function splitMemoryBudget(budgetMb: number): DnsMemoryBudget {
  const total = budgetMb * MB;
  return {
    answerCacheBytes: Math.floor(total * MEMORY_SHARES.answerCache),
    hotAnswerBytes: Math.floor(total * MEMORY_SHARES.hotAnswers),
    verdictMemoBytes: Math.floor(total * MEMORY_SHARES.verdictMemo),
    queryLogBytes: Math.floor(total * MEMORY_SHARES.queryLog),
  };
}

/** CacheEntry object, its two typed arrays and the template's ArrayBuffer/BackingStore, and the Map slot. */
export const CACHE_ENTRY_OVERHEAD = 1100;
/** HotAnswer object and the Map slot (its name string and cache entry are charged besides). */
export const HOT_ANSWER_OVERHEAD = 220;
/** VerdictMemo, the hook's Verdict with a one-reason array, and the Map slot. */
export const VERDICT_MEMO_OVERHEAD = 280;
/** One ring slot: two Float64 columns and seven pointer columns, plus the headers of the row's own strings. */
export const QUERY_LOG_ROW_OVERHEAD = 150;

export function cacheEntryBytes(key: string, entry: Pick<CacheEntry, 'template' | 'ttlOffsets' | 'ttls'>): number {
  return CACHE_ENTRY_OVERHEAD + key.length * 2 + entry.template.length + entry.ttlOffsets.byteLength + entry.ttls.byteLength;
}

/** `entry` as the cache charged it, or as it would (an entry the cache refused has no charge yet). */
export function hotAnswerBytes(name: string, entry: CacheEntry): number {
  return HOT_ANSWER_OVERHEAD + name.length * 2 + (entry.accountedBytes || cacheEntryBytes('', entry));
}

export function verdictMemoBytes(key: string, humanReason: string | undefined): number {
  return VERDICT_MEMO_OVERHEAD + key.length * 2 + (humanReason === undefined ? 0 : humanReason.length * 2);
}

/** A query log row: the strings a query brings of its own (name, client address, user). */
export function queryLogRowBytes(name: string, client: string, user: string | undefined): number {
  return QUERY_LOG_ROW_OVERHEAD + (name.length + client.length + (user === undefined ? 0 : user.length)) * 2;
}
