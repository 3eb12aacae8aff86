import type { RdapErrorCode } from './rdap-lookup-outcome.js';

export type MaybePromise<T> = T | Promise<T>;

/** One cached RDAP answer for a registrable domain; plain JSON so a database can store it as is. */
export interface DomainAgeRecord {
  domain: string;
  status: 'registered' | 'no_registration_date' | 'not_found' | 'error';
  /** ms since the epoch; set when status is `registered`. */
  registeredAt?: number;
  errorCode?: RdapErrorCode;
  detail?: string;
  checkedAt: number;
  expiresAt: number;
}

/**
 * Where RDAP answers are cached. A synchronous `get` lets the DNS hot path answer from the cache
 * without awaiting; a store that returns a Promise (a database) is only consulted on the async path.
 */
export interface DomainAgeCacheStore {
  get(domain: string): MaybePromise<DomainAgeRecord | undefined>;
  set(record: DomainAgeRecord): MaybePromise<void>;
}

export interface MemoryAgeCache extends DomainAgeCacheStore {
  get(domain: string): DomainAgeRecord | undefined;
  set(record: DomainAgeRecord): void;
  readonly size: number;
}

/**
 * Bounded LRU in memory (Map keeps insertion order; a hit is re-inserted at the end). The bound
 * matters: anyone who can send DNS queries can make us look up arbitrarily many domains.
 */
export function createMemoryAgeCache(maxEntries: number): MemoryAgeCache {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  const entries = new Map<string, DomainAgeRecord>();
  return {
    get(domain) {
      const record = entries.get(domain);
      if (record) {
        entries.delete(domain);
        entries.set(domain, record);
      }
      return record;
    },
    set(record) {
      entries.delete(record.domain);
      entries.set(record.domain, record);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },
    get size() {
      return entries.size;
    },
  };
}

/**
 * A memory LRU in front of a slower shared store (the database): reads hit memory first and fill
 * it from the store; writes go to both, so other instances and restarts see the answer.
 */
export function createTieredAgeCache(front: MemoryAgeCache, back: DomainAgeCacheStore): DomainAgeCacheStore {
  return {
    get(domain) {
      const hit = front.get(domain);
      if (hit) return hit;
      const fromBack = back.get(domain);
      const fill = (record: DomainAgeRecord | undefined) => {
        if (record) front.set(record);
        return record;
      };
      return fromBack instanceof Promise ? fromBack.then(fill) : fill(fromBack);
    },
    set(record) {
      front.set(record);
      return back.set(record);
    },
  };
}
