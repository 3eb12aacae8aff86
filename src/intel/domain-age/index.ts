export { createDomainAge, type DomainAge, type DomainAgeOptions } from './create-domain-age.js';
export {
  createDomainAgeService,
  type AgeLookupOptions,
  type DomainAgeFacts,
  type DomainAgeService,
  type DomainAgeServiceOptions,
  type RdapFinding,
} from './domain-age-service.js';
export { assessDomainAge, type AgeAssessment, type VerdictReason } from './age-policy.js';
export {
  createMemoryAgeCache,
  createTieredAgeCache,
  type DomainAgeCacheStore,
  type DomainAgeRecord,
  type MaybePromise,
  type MemoryAgeCache,
} from './age-cache.js';
export { createMemoryFirstSeenStore, type FirstSeenStore, type MemoryFirstSeenStore } from './first-seen.js';
export { createNrdIndex, type NrdIndex, type NrdListing } from './nrd-index.js';
export { loadDomainFeed, parseDomainFeed, type DomainFeedLoad, type ParsedDomainFeed } from './nrd-feed.js';
export { createNrdFeedRefresher, type NrdFeedRefresher, type NrdFeedRefresherOptions } from './nrd-feed-refresher.js';
export { loadRdapBootstrapFile, parseRdapBootstrap, SHIPPED_BOOTSTRAP_URL, type RdapBootstrap } from './rdap-bootstrap.js';
export {
  createRdapBootstrapSource,
  type BootstrapRefreshResult,
  type RdapBootstrapSource,
  type RdapBootstrapSourceOptions,
} from './rdap-bootstrap-source.js';
export { createRdapClient, type RdapClient, type RdapClientOptions } from './rdap-client.js';
export { fetchCapped, type CappedFetchResult } from './fetch-capped.js';
export { longestSuffixMatch } from './rdap-bootstrap.js';
export { createPublicOnlyAgent, NonPublicAddressError, type PublicOnlyAgentOptions, type ResolveHost } from './public-only-agent.js';
export { nonPublicRange } from './non-public-range.js';
export type { RdapErrorCode, RdapLookupOutcome } from './rdap-lookup-outcome.js';
export { normalizeDomainName, registrableDomainOf } from './registrable-domain.js';
export { describeElapsed } from './describe-elapsed.js';
