import { z } from 'zod';

const verdictAction = z.enum(['allow', 'warn', 'block']);

const httpUrl = z.url({ protocol: /^https?$/ });

const nrdFeedsSchema = z.strictObject({
  sources: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Newly-registered-domain lists: file paths or http(s) URLs, one domain per line, `#` starts a comment. Listed domains count as young when RDAP gives no registration date.',
    ),
  refresh_hours: z
    .number()
    .positive()
    .max(24 * 7)
    .default(6)
    .describe('How often every feed is downloaded again, in hours. A feed that fails keeps its last good contents.'),
  max_bytes: z
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024)
    .describe('Largest feed accepted, in bytes; a bigger file is refused (the previous copy stays).'),
});

const firstSeenSchema = z.strictObject({
  max_entries: z
    .number()
    .int()
    .positive()
    .default(500_000)
    .describe('Registrable domains remembered in the in-memory first-seen table (oldest dropped first).'),
  use_as_age: z
    .boolean()
    .default(true)
    .describe(
      'When RDAP gives no registration date, treat a domain first seen by this gateway less than `young_days` ago as young. Only once the table has been recording for `young_days` (before that everything is "new").',
    ),
});

export const dnsAgeSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Look up the registration date of every queried registrable domain (RDAP).'),
  bootstrap_url: httpUrl
    .default('https://data.iana.org/rdap/dns.json')
    .describe('IANA RDAP bootstrap file for DNS (RFC 9224). The copy shipped with Gatehouse is used until a refresh succeeds.'),
  bootstrap_refresh_hours: z
    .number()
    .positive()
    .max(24 * 30)
    .default(24)
    .describe('How often the bootstrap file is fetched again, in hours. A failed fetch keeps the last good copy.'),
  bootstrap_cache_file: z
    .string()
    .min(1)
    .optional()
    .describe('File where the last good bootstrap copy is kept across restarts. Default: memory only.'),
  young_days: z
    .number()
    .positive()
    .max(3650)
    .default(30)
    .describe('A domain registered less than this many days ago is "young".'),
  time_budget_ms: z
    .number()
    .int()
    .min(1)
    .max(30_000)
    .default(1500)
    .describe('Longest a DNS query waits for the registration date, in ms. After that `on_timeout` applies and the lookup continues in the background to fill the cache.'),
  on_timeout: verdictAction.default('allow').describe('Action when the registration date is not known within `time_budget_ms`.'),
  on_unknown: verdictAction
    .default('allow')
    .describe('Action when the registration date cannot be learned (no RDAP server for the TLD, 404, server error).'),
  young_action: verdictAction.default('warn').describe('Action for a young domain that does not look like a protected brand.'),
  lookalike_action: verdictAction
    .default('block')
    .describe('Action for a brand lookalike that is not known to be young. A young lookalike is always blocked.'),
  young_lookalike_min_score: z
    .number()
    .min(0)
    .max(1)
    .default(0.6)
    .describe(
      'Lookalike score (0..1) from which a YOUNG domain counts as a young lookalike and is blocked, even below the lookalike threshold (e.g. `acme.de` for `acme.com` scores 0.6: allowed when old, blocked when registered last week).',
    ),
  cache_ttl_hours: z
    .number()
    .positive()
    .max(24 * 90)
    .default(24)
    .describe('How long a registration date learned from RDAP is cached, in hours.'),
  negative_cache_ttl_minutes: z
    .number()
    .positive()
    .max(24 * 60)
    .default(5)
    .describe('How long a 404, an error or a missing date is cached, in minutes. Short: a name unknown now may be registered minutes later.'),
  max_cache_entries: z.number().int().positive().default(100_000).describe('Registrable domains kept in the in-memory age cache.'),
  request_timeout_ms: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(10_000)
    .describe('Longest one RDAP request (including redirects) may take, in ms, even in the background.'),
  max_response_bytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(256 * 1024)
    .describe('Largest RDAP response body read, in bytes; a bigger one is an error.'),
  max_concurrent_lookups: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(64)
    .describe('RDAP lookups in flight at once; beyond this a new domain gets `on_unknown` (a flood of random names must not open unbounded connections).'),
  client_lookups_per_window: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(30)
    .describe(
      'New RDAP lookups one client may start per `client_lookup_window_s` (a client is a DNS source address, an IPv6 /64, or a personal DoH user). Beyond it, that client\'s names of unknown age get `on_unknown` without using the shared `max_concurrent_lookups`: a flood of random names from one client must not make everyone else\'s age checks come back unknown.',
    ),
  client_max_in_flight: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(8)
    .describe(
      'RDAP lookups one client may have in flight at once, a share of `max_concurrent_lookups`: against a slow registry a client\'s whole window budget would otherwise sit in the shared capacity, and a handful of addresses would fill it.',
    ),
  client_lookup_window_s: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(60)
    .describe('Length of the window for `client_lookups_per_window`, in seconds.'),
  rate_limit_backoff_s: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(10)
    .describe('After an HTTP 429 without Retry-After, seconds during which that one RDAP server is not asked again (other servers still are).'),
  rate_limit_backoff_max_s: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(60)
    .describe('Longest pause of one RDAP server after an HTTP 429, in seconds, whatever its Retry-After asks: a long pause turns every new domain under that registry into "unknown".'),
  max_redirects: z.number().int().min(0).max(10).default(3).describe('RDAP redirects followed (RFC 7480 §5.2).'),
  rdap_overrides: z
    .record(z.string().min(1), httpUrl)
    .default({})
    .describe('RDAP base URL per TLD or suffix (e.g. `{ com: "http://127.0.0.1:8080/" }`), used before the bootstrap file: offline sites, tests, private registries.'),
  nrd_feeds: nrdFeedsSchema.prefault({}).describe('Newly-registered-domain feeds.'),
  first_seen: firstSeenSchema.prefault({}).describe('Table of when this gateway first saw each registrable domain.'),
});

export type DnsAgeConfig = z.infer<typeof dnsAgeSchema>;
export type DnsAgeAction = z.infer<typeof verdictAction>;
