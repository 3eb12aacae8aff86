/**
 * Verdict-hook results remembered per (policy, user, name) for `dns.verdict_cache_ttl_s`, so a name
 * asked for again is not re-classified. Keyed by the queried name, so a flood of unique names would
 * fill it: it is bounded by accounted bytes (a share of `dns.memory_budget_mb`) and by count, evicting
 * the least recently used (byte-budget-lru.ts) rather than dropping every verdict at once.
 */
import { ByteBudgetLru, type BudgetedEntry, type MemoryUse } from './byte-budget-lru.js';
import { verdictMemoBytes } from './memory-budget.js';
import type { Verdict } from './verdict.js';

/** A hook verdict and until when it may be reused (0: not to be reused, e.g. a timeout). */
export interface VerdictMemo {
  verdict: Verdict;
  expiresAt: number;
}

interface StoredVerdictMemo extends VerdictMemo, BudgetedEntry {}

export class VerdictMemoTable {
  private readonly memos: ByteBudgetLru<string, StoredVerdictMemo>;

  constructor(maxBytes: number, maxEntries: number) {
    this.memos = new ByteBudgetLru(maxBytes, maxEntries);
  }

  get size(): number {
    return this.memos.size;
  }

  memoryUse(): MemoryUse {
    return this.memos.memoryUse();
  }

  /** The memo for `key` if it has not expired at `now`; an expired one is dropped. */
  fresh(key: string, now: number): VerdictMemo | undefined {
    const memo = this.memos.peek(key);
    if (memo === undefined) return undefined;
    if (memo.expiresAt <= now) {
      this.memos.delete(key);
      return undefined;
    }
    memo.recentlyUsed = true;
    return memo;
  }

  remember(key: string, verdict: Verdict, expiresAt: number): VerdictMemo {
    const memo: StoredVerdictMemo = { verdict, expiresAt, accountedBytes: verdictMemoBytes(key, verdict.humanReason), recentlyUsed: false };
    this.memos.set(key, memo);
    return memo;
  }

  clear(): void {
    this.memos.clear();
  }
}
