import type { SessionView } from './sessions.js';

export interface SessionCacheOptions {
  /** Upper bound on cached sessions; the least recently used is dropped first. */
  maxEntries?: number;
  /** A cached row older than this (ms) is read again, so a change that missed the feed still lands. */
  ttlMs?: number;
}

export const DEFAULT_SESSION_CACHE_ENTRIES = 100_000;
export const DEFAULT_SESSION_CACHE_TTL_MS = 60_000;

interface Entry {
  view: SessionView;
  readAt: number;
}

/**
 * The validated-session cache: an LRU (Map insertion order, refreshed on every hit) with a read-time
 * TTL and an index by user. Unbounded, a flood of distinct valid cookies would grow the heap without
 * limit; without the TTL, a feed row that never arrived would keep a revoked session alive until restart.
 * The by-user index keeps "evict this user" O(their sessions), not O(cache), when a feed batch carries
 * thousands of user changes.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byUser = new Map<string, Set<string>>();
  readonly maxEntries: number;
  readonly ttlMs: number;

  constructor({ maxEntries = DEFAULT_SESSION_CACHE_ENTRIES, ttlMs = DEFAULT_SESSION_CACHE_TTL_MS }: SessionCacheOptions = {}) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('session cache: maxEntries must be a positive integer');
    if (!(ttlMs > 0)) throw new TypeError('session cache: ttlMs must be positive');
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached view if it was read less than ttlMs before `now`; marks it most recently used. */
  get(idHash: string, now: number): SessionView | undefined {
    const entry = this.entries.get(idHash);
    if (!entry) return undefined;
    if (now - entry.readAt >= this.ttlMs) {
      this.delete(idHash);
      return undefined;
    }
    this.entries.delete(idHash);
    this.entries.set(idHash, entry);
    return entry.view;
  }

  set(view: SessionView, readAt: number): void {
    this.delete(view.idHash);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    this.entries.set(view.idHash, { view, readAt });
    let hashes = this.byUser.get(view.userId);
    if (!hashes) this.byUser.set(view.userId, (hashes = new Set()));
    hashes.add(view.idHash);
  }

  delete(idHash: string): void {
    const entry = this.entries.get(idHash);
    if (!entry) return;
    this.entries.delete(idHash);
    const hashes = this.byUser.get(entry.view.userId);
    hashes?.delete(idHash);
    if (hashes?.size === 0) this.byUser.delete(entry.view.userId);
  }

  deleteUser(userId: string): void {
    const hashes = this.byUser.get(userId);
    if (!hashes) return;
    for (const idHash of hashes) this.entries.delete(idHash);
    this.byUser.delete(userId);
  }

  clear(): void {
    this.entries.clear();
    this.byUser.clear();
  }
}
