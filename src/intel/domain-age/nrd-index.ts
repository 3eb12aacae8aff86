export interface NrdListing {
  /** The feed (path or URL) that lists the domain. */
  source: string;
  /** When that feed's current contents were imported (ms epoch). */
  importedAt: number;
}

/** Newly-registered domains from every configured feed; each feed's contents are replaced as a whole. */
export interface NrdIndex {
  replaceFeed(source: string, domains: Iterable<string>, importedAt: number): void;
  removeFeed(source: string): void;
  lookup(registrableDomain: string): NrdListing | undefined;
  readonly size: number;
}

export function createNrdIndex(): NrdIndex {
  const feeds = new Map<string, { domains: ReadonlySet<string>; importedAt: number }>();
  return {
    replaceFeed(source, domains, importedAt) {
      // Build first, then swap: a lookup never sees a half-imported feed.
      feeds.set(source, { domains: new Set(domains), importedAt });
    },
    removeFeed(source) {
      feeds.delete(source);
    },
    lookup(domain) {
      for (const [source, feed] of feeds) {
        if (feed.domains.has(domain)) return { source, importedAt: feed.importedAt };
      }
      return undefined;
    },
    get size() {
      let total = 0;
      for (const feed of feeds.values()) total += feed.domains.size;
      return total;
    },
  };
}
