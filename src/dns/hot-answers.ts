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
 */
import type { ClientPolicy } from './client-policies.js';
import type { DomainHasher } from './domain-hash.js';
import type { CacheEntry } from './response-cache.js';
import type { QueryOutcome } from './verdict.js';

export interface HotAnswer {
  /** Lower-case dotted name: compared byte for byte on every hit, so a hash collision is only a miss. */
  readonly name: string;
  readonly qtype: number;
  readonly dnssecOk: boolean;
  /** For the query log. */
  readonly typeName: string;
  readonly outcome: QueryOutcome;
  readonly reason: string;
  readonly entry: CacheEntry;
  /** Epoch ms until which the entry may be served without running the pipeline. */
  readonly freshUntil: number;
}

export class HotAnswerTable {
  /** One table per client policy (a handful, from the config), keyed by a seeded hash of the question. */
  private readonly tables = new Map<ClientPolicy, Map<number, HotAnswer>>();

  constructor(
    private readonly maxEntries: number,
    private readonly hasher: DomainHasher,
  ) {}

  get size(): number {
    let size = 0;
    for (const table of this.tables.values()) size += table.size;
    return size;
  }

  /** The seeded 64-bit name hash (DomainHasher, hostile names cannot aim at a slot) folded with type and DO into a small integer. */
  private key(bytes: Uint8Array, length: number, qtype: number, dnssecOk: boolean): number {
    this.hasher.hashName(bytes, 0, length);
    return (this.hasher.hi ^ Math.imul(this.hasher.lo, 31) ^ Math.imul(qtype, 0x9e3779b1) ^ (dnssecOk ? 0x5bd1e995 : 0)) & 0x3fffffff;
  }

  /** The entry for the lower-case name in `scratch[0, nameLength)`, if it is still fresh at `now`. */
  find(policy: ClientPolicy, scratch: Uint8Array, nameLength: number, qtype: number, dnssecOk: boolean, now: number): HotAnswer | undefined {
    const table = this.tables.get(policy);
    if (table === undefined) return undefined;
    const hot = table.get(this.key(scratch, nameLength, qtype, dnssecOk));
    if (hot === undefined || hot.qtype !== qtype || hot.dnssecOk !== dnssecOk || now >= hot.freshUntil) return undefined;
    const name = hot.name;
    if (name.length !== nameLength) return undefined;
    for (let i = 0; i < nameLength; i++) if (name.charCodeAt(i) !== scratch[i]) return undefined;
    return hot;
  }

  remember(policy: ClientPolicy, hot: HotAnswer): void {
    if (this.maxEntries <= 0) return;
    let table = this.tables.get(policy);
    if (table === undefined) {
      table = new Map();
      this.tables.set(policy, table);
    }
    const bytes = Buffer.from(hot.name, 'latin1');
    const key = this.key(bytes, bytes.length, hot.qtype, hot.dnssecOk);
    table.delete(key);
    // Oldest-inserted first, as the response cache evicts.
    while (table.size >= this.maxEntries) {
      const oldest = table.keys().next();
      if (oldest.done) break;
      table.delete(oldest.value);
    }
    table.set(key, hot);
  }

  clear(): void {
    this.tables.clear();
  }
}
