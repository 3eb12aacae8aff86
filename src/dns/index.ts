/** Public surface of the DNS gateway capability. */
export { createDnsGateway, type DnsGateway, type DnsGatewayOptions, type DnsListState, type DnsLogger } from './dns-gateway.js';
export type { DohRequest, DohResponse, DohIdentity, DohTokenResolver } from './doh-handler.js';
export type { ClassifyHook, ClientContext, QueryLogEntry, QueryLogSink, QueryOutcome, Verdict, VerdictAction } from './verdict.js';
export type { BlocklistSourceState, DynamicBlock } from './blocklist-store.js';
export type { DnsMetricsSnapshot } from './gateway-metrics.js';
export { normaliseDomainName } from './domain-name.js';
export { keptDomainsOf } from './never-blocked.js';
export { blockPage } from './block-page.js';
export type { NameExplanation } from './explain-name.js';
export { DomainBlocks, domainBlocksOf, DNS_FEED, type DomainBlock, type StrictNewDomainsState } from './domain-blocks.js';
export { incidentOfBlockReason, publicBlockText } from './public-block-text.js';
export { DohTokens } from './doh-tokens.js';
export { buildDns, type DnsLayer, type LookalikeSighting } from './build-dns.js';
export { DNS_RESTART_ONLY_KEYS } from './dns-restart-only-keys.js';
