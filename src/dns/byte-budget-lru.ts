/**
 * A map bounded by the bytes its entries are accounted at, for the resolver's per-name state (answer
 * cache, hot answers, verdict memo). A count bound alone lets a random-subdomain flood ("water
 * torture": every `<random>.victim.example` unique) fill every slot with large entries; a byte bound
 * holds memory still whatever the names.
 *
 * Eviction is least-recently-used approximated by second chance (CLOCK): a hit only sets the entry's
 * `recentlyUsed` flag, a field write with no allocation and no Map reordering on the hot path. Eviction
 * takes the oldest-inserted entry; one used since it was last looked at is moved to the young end with
 * its flag cleared instead of being dropped. So entries never asked for again (a flood's) go first,
 * oldest first, and an entry still being asked for survives any number of them. Each move consumes a
 * flag a hit set, so eviction is amortised O(1). Accounting is O(1): the entry carries its own size.
 */

/** What an entry must carry to be budgeted; set `accountedBytes` before `set`. */
export interface BudgetedEntry {
  /** Bytes the entry is charged, fixed at insertion (see memory-budget.ts for what is counted). */
  accountedBytes: number;
  /** Set on each hit; cleared when eviction gives the entry its second chance. */
  recentlyUsed: boolean;
}

export interface MemoryUse {
  bytes: number;
  maxBytes: number;
  entries: number;
  /** Entries dropped to stay within the budget (not expiry, not `clear`). */
  evictions: number;
}

export class ByteBudgetLru<K, V extends BudgetedEntry> {
  private readonly entries = new Map<K, V>();
  private used = 0;
  private evicted = 0;

  constructor(
    readonly maxBytes: number,
    /** A count bound besides the byte bound (`dns.cache.max_entries`); Infinity for none. */
    private readonly maxEntries = Infinity,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get usedBytes(): number {
    return this.used;
  }

  get evictions(): number {
    return this.evicted;
  }

  memoryUse(): MemoryUse {
    return { bytes: this.used, maxBytes: this.maxBytes, entries: this.entries.size, evictions: this.evicted };
  }

  /** The entry, marked as used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) entry.recentlyUsed = true;
    return entry;
  }

  /** The entry, without marking it used (expiry checks before a hit counts). */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  /**
   * Stores `entry` under `key` (replacing any), evicting until it fits. Returns false, storing nothing,
   * when the entry alone is larger than the budget or the budget is 0.
   */
  set(key: K, entry: V): boolean {
    this.delete(key);
    const bytes = entry.accountedBytes;
    if (bytes > this.maxBytes || this.maxEntries <= 0) return false;
    while (this.used + bytes > this.maxBytes || this.entries.size >= this.maxEntries) this.evictOne();
    entry.recentlyUsed = false;
    this.entries.set(key, entry);
    this.used += bytes;
    return true;
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    this.used -= entry.accountedBytes;
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }

  /** Drops the oldest entry not used since its last chance; gives used ones a second chance. */
  private evictOne(): void {
    for (;;) {
      const oldest = this.entries.entries().next();
      if (oldest.done) return;
      const [key, entry] = oldest.value;
      this.entries.delete(key);
      if (entry.recentlyUsed) {
        entry.recentlyUsed = false;
        this.entries.set(key, entry);
        continue;
      }
      this.used -= entry.accountedBytes;
      this.evicted++;
      return;
    }
  }
}
