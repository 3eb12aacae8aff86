import type { Dispatcher } from 'undici';
import type { DnsAgeConfig } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import type { DomainAgeCacheStore } from './age-cache.js';
import { createDomainAgeService, type DomainAgeService } from './domain-age-service.js';
import type { FirstSeenStore } from './first-seen.js';
import type { DomainFeedLoad } from './nrd-feed.js';
import { createNrdFeedRefresher, type NrdFeedRefresher } from './nrd-feed-refresher.js';
import { createNrdIndex, type NrdIndex } from './nrd-index.js';
import type { PublicOnlyAgentOptions } from './public-only-agent.js';
import { loadRdapBootstrapFile, type RdapBootstrap } from './rdap-bootstrap.js';
import { createRdapBootstrapSource, type BootstrapRefreshResult, type RdapBootstrapSource } from './rdap-bootstrap-source.js';
import type { RdapLookupOutcome } from './rdap-lookup-outcome.js';

export interface DomainAgeOptions {
  config: DnsAgeConfig;
  clock: Clock;
  /** Default: in-memory LRU of `max_cache_entries`. Wrap a database store with createTieredAgeCache. */
  cache?: DomainAgeCacheStore;
  /** Default: in-memory table of `first_seen.max_entries`. */
  firstSeen?: FirstSeenStore;
  /** Default: the IANA snapshot shipped in `assets/`. */
  initialBootstrap?: RdapBootstrap;
  /** Bootstrap and feed downloads only (URLs the operator configured). */
  dispatcher?: Dispatcher;
  /** RDAP lookups; unset in production, so non-public targets are refused (tests allow their fixture). */
  rdapConnection?: PublicOnlyAgentOptions;
  onLookup?: (outcome: RdapLookupOutcome) => void;
  onBootstrapRefresh?: (result: BootstrapRefreshResult) => void;
  onFeedLoad?: (result: DomainFeedLoad) => void;
  onStoreError?: (error: unknown, operation: string) => void;
}

export interface DomainAge {
  service: DomainAgeService;
  bootstrap: RdapBootstrapSource;
  nrd: NrdIndex;
  nrdRefresher: NrdFeedRefresher;
  /** Starts the periodic bootstrap and feed refreshes (the composition root calls this). */
  start(): void;
  /** Stops the timers and waits for refreshes and lookups in flight. */
  stop(): Promise<void>;
}

/** Feeds can be tens of MB from a slow mirror; this bounds one download. */
const FEED_TIMEOUT_MS = 120_000;

/** Wires the domain-age capability from its config section; nothing runs until `start()`. */
export function createDomainAge(options: DomainAgeOptions): DomainAge {
  const { config, clock } = options;
  const bootstrap = createRdapBootstrapSource({
    initial: options.initialBootstrap ?? loadRdapBootstrapFile(),
    url: config.bootstrap_url,
    refreshHours: config.bootstrap_refresh_hours,
    timeoutMs: Math.max(config.request_timeout_ms, 30_000),
    ...(config.bootstrap_cache_file ? { cacheFile: config.bootstrap_cache_file } : {}),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    ...(options.onBootstrapRefresh ? { onResult: options.onBootstrapRefresh } : {}),
  });
  const nrd = createNrdIndex();
  const nrdRefresher = createNrdFeedRefresher({
    sources: config.nrd_feeds.sources,
    index: nrd,
    clock,
    refreshHours: config.nrd_feeds.refresh_hours,
    maxBytes: config.nrd_feeds.max_bytes,
    timeoutMs: FEED_TIMEOUT_MS,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    ...(options.onFeedLoad ? { onResult: options.onFeedLoad } : {}),
  });
  const service = createDomainAgeService({
    config,
    clock,
    bootstrap,
    nrd,
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.firstSeen ? { firstSeen: options.firstSeen } : {}),
    ...(options.rdapConnection ? { rdapConnection: options.rdapConnection } : {}),
    ...(options.onLookup ? { onLookup: options.onLookup } : {}),
    ...(options.onStoreError ? { onStoreError: options.onStoreError } : {}),
  });
  return {
    service,
    bootstrap,
    nrd,
    nrdRefresher,
    start() {
      if (!config.enabled) return;
      bootstrap.start();
      nrdRefresher.start();
    },
    async stop() {
      await Promise.all([bootstrap.stop(), nrdRefresher.stop(), service.idle()]);
    },
  };
}
