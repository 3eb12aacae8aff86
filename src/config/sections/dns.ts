/**
 * `dns:` section: the filtering resolver (UDP/TCP listener, DoH handler, upstreams, cache, blocklists,
 * per-network client policies). The `protect:` subsection (brand lookalike detection) is owned by
 * dns-protect.ts and composed in by the integrator.
 */
import net from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../../lib/ip/ip-address.js';
import { dnsAgeSchema } from './dns-age.js';
import { dnsProtectSchema } from './dns-protect.js';

const port = z.number().int().min(0).max(65535);

/** `ip:port` or `[ipv6]:port`. */
export const upstreamAddressSchema = z.string().describe('Upstream resolver as ip:port (IPv6 as [addr]:port).').superRefine((value, ctx) => {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:]+):(\d{1,5})$/.exec(value);
  if (!match || net.isIP(match[1]!) === 0 || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    ctx.addIssue({ code: 'custom', message: `upstream "${value}" is not ip:port or [ipv6]:port` });
  }
});

// Read as the client-policy table compiles it (lenient: node:net BlockList's reading, which these
// networks have always had), so a network that loads always compiles.
const cidrSchema = z.string().describe('Client network in CIDR notation, e.g. 10.0.0.0/8 or fd00::/8.').superRefine((value, ctx) => {
  const [, bits, extra] = value.split('/');
  if (extra !== undefined || bits === undefined || typeof parseCidr(value, { lenient: true }) === 'string') {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not an IPv4 or IPv6 CIDR` });
  }
});

const domainPattern = z.string().regex(/^(\*\.)?[A-Za-z0-9_.-]{1,253}\.?$/, 'must be a domain name or *.domain');

const blockResponse = z.enum(['nxdomain', 'block_page']);

export const dnsBlocklistSourceSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).describe('Short name of the list, used by policies and in block reasons.'),
    path: z.string().min(1).optional()
      .describe('Local file holding the list, relative to the folder of the config file. Exactly one of path or url. A file that cannot be read stops the start (and fails a reload, keeping the last good copy).'),
    url: z.url({ protocol: /^https?$/ }).optional().describe('HTTP(S) URL of the list. Exactly one of path or url.'),
    format: z.enum(['auto', 'hosts', 'domains', 'wildcard', 'adblock']).default('auto')
      .describe('Line format: hosts file, one domain per line, *.wildcard, adblock ||name^, or auto (any of them).'),
    refresh_interval_s: z.number().int().min(0).default(86400)
      .describe('Seconds between reloads; 0 = load once. A failed reload keeps the last good copy.'),
    ede: z.enum(['blocked', 'filtered']).default('blocked')
      .describe('RFC 8914 Extended DNS Error for names on this list: 15 Blocked or 17 Filtered.'),
  })
  .refine((source) => (source.path === undefined) !== (source.url === undefined), { message: 'give exactly one of path or url' });

export const dnsClientPolicySchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).describe('Policy name (logged with each query).'),
  networks: z.array(cidrSchema).default([]).describe('Client source networks this policy applies to (first matching policy wins).'),
  mode: z.enum(['filter', 'passthrough', 'refuse']).default('filter')
    .describe('filter = apply lists and checks; passthrough = resolve without filtering; refuse = answer REFUSED.'),
  blocklists: z.array(z.string()).optional().describe('Names of the blocklists that apply; all lists when omitted.'),
  allowlist: z.array(domainPattern).default([]).describe('Extra names allowed for these clients (added to the global allowlist).'),
  block_response: blockResponse.optional().describe('Overrides the global block_response for these clients.'),
  classify: z.boolean().default(true).describe('Run the verdict hook (lookalike, domain age) for these clients.'),
});

export const dnsConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Run the DNS gateway.'),
    listen: z
      .strictObject({
        address: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1').describe('Address the UDP and TCP listeners bind.'),
        port: port.default(53).describe('Port for UDP and TCP (0 = any free port, for tests).'),
        udp: z.boolean().default(true).describe('Serve DNS over UDP.'),
        tcp: z.boolean().default(true).describe('Serve DNS over TCP (RFC 7766).'),
      })
      .default({ address: '127.0.0.1', port: 53, udp: true, tcp: true })
      .describe('Where the resolver listens.'),
    tcp_idle_timeout_ms: z.number().int().min(100).max(600_000).default(10_000)
      .describe('Milliseconds an idle TCP connection stays open (RFC 7766 §6.2.3).'),
    tcp_max_connections: z.number().int().min(1).default(1000).describe('Concurrent TCP connections accepted.'),
    max_udp_payload: z.number().int().min(512).max(4096).default(1232)
      .describe('Largest UDP reply in bytes, whatever larger size a client advertises (RFC 6891 §6.2.5).'),
    upstreams: z.array(upstreamAddressSchema).default([]).describe('Upstream resolvers, tried in order with failover.'),
    upstream_timeout_ms: z.number().int().min(50).max(30_000).default(1500).describe('Milliseconds to wait for one upstream attempt.'),
    upstream_retries: z.number().int().min(0).max(10).default(2)
      .describe('Further attempts after the first, each on the next upstream; SERVFAIL when all fail.'),
    upstream_sockets: z.number().int().min(1).max(256).default(16)
      .describe('UDP sockets (random source ports) per upstream, picked at random per query.'),
    upstream_hold_down_ms: z.number().int().min(0).max(60_000).default(5000)
      .describe('After a query got no reply from any upstream (every attempt timed out or was refused), milliseconds during which cache misses are answered at once (stale, or SERVFAIL with Extended DNS Error 22) instead of waiting out every timeout; 0 = always wait.'),
    serve_stale_s: z.number().int().min(0).max(7 * 86400).default(86400)
      .describe('Seconds an expired answer is kept to be served when every upstream fails, with TTL 30 and Extended DNS Error 3 Stale Answer (RFC 8767); 0 = never serve stale.'),
    memory_budget_mb: z.number().int().min(1).max(65_536).default(64)
      .describe('MiB the per-name state of the resolver may hold, split: answer cache 55%, hot answers 20%, query log rows awaiting a flush 15%, verdict memo 10%. Each entry is charged its name (2 bytes a character), its wire answer and a measured fixed overhead: a typical A or NXDOMAIN answer about 1.3 KB (about 800 cached names per MiB of the share; the default holds about 28,000), a hot answer 1.5 KB (it also pays for the answer it keeps alive), a log row about 0.2 KB. When a share is full its least recently used entries are evicted (log rows: the oldest unwritten are dropped and counted), so a flood of unique names (random subdomains) cannot grow memory; the hit ratio drops instead. `cache.max_entries` still caps the count.'),
    cache: z
      .strictObject({
        min_ttl_s: z.number().int().min(0).default(0).describe('Floor applied to record TTLs, in seconds.'),
        max_ttl_s: z.number().int().min(1).default(86400).describe('Ceiling applied to record TTLs, in seconds.'),
        negative_max_ttl_s: z.number().int().min(0).default(3600)
          .describe('Ceiling for negative answers (NXDOMAIN/NODATA), in seconds (RFC 2308 §5).'),
        max_entries: z.number().int().min(0).default(100_000).describe('Cached answers kept; 0 disables the cache.'),
      })
      .default({ min_ttl_s: 0, max_ttl_s: 86400, negative_max_ttl_s: 3600, max_entries: 100_000 })
      .describe('Answer cache.'),
    blocklists: z.array(dnsBlocklistSourceSchema).default([]).describe('Blocklist sources.'),
    blocklist_max_bytes: z.number().int().min(1024).default(256 * 1024 * 1024).describe('Largest blocklist body accepted, in bytes.'),
    blocklist_fetch_timeout_ms: z.number().int().min(100).default(30_000).describe('Milliseconds allowed to download one URL source.'),
    allowlist: z.array(domainPattern).default([])
      .describe('Names never blocked by lists or checks (a name covers its subdomains; *.name only the subdomains).'),
    block_response: blockResponse.default('nxdomain').describe('Answer for blocked names: NXDOMAIN or the block page address.'),
    block_page: z
      .strictObject({
        ipv4: z.ipv4().optional().describe('IPv4 address of the block page, returned for A queries.'),
        ipv6: z.ipv6().optional().describe('IPv6 address of the block page, returned for AAAA queries.'),
      })
      .default({})
      .describe('Block page addresses used when block_response is block_page.'),
    block_ttl_s: z.number().int().min(0).max(86400).default(10)
      .describe('TTL in seconds of synthesised block answers (short, so an unblock is seen quickly).'),
    classify_budget_ms: z.number().int().min(1).max(10_000).default(300)
      .describe('Milliseconds a query waits for the asynchronous verdict hook (domain age) before on_classify_timeout applies.'),
    on_classify_timeout: z.enum(['allow', 'block']).default('allow')
      .describe('Verdict when the asynchronous check does not finish within classify_budget_ms.'),
    verdict_cache_ttl_s: z.number().int().min(0).default(60)
      .describe('Seconds a verdict-hook result is reused for the same name and policy; 0 = ask every time.'),
    default_mode: z.enum(['filter', 'passthrough', 'refuse']).default('filter')
      .describe('Mode for clients that match no policy (refuse keeps the resolver from being open).'),
    policies: z.array(dnsClientPolicySchema).default([]).describe('Per-client-network policies, first match wins.'),
    protect: dnsProtectSchema.optional().describe('Brand lookalike detection (see dns-protect); off when absent.'),
    age: dnsAgeSchema.prefault({}).describe('Domain age at query time: RDAP registration dates, newly-registered-domain feeds, first-seen table.'),
    query_log: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Write every query (client, user, name, type, verdict, reason, latency) to the store.'),
        retention_days: z.number().int().min(1).max(3650).default(30).describe('Days query log rows are kept, in days.'),
        flush_interval_ms: z.number().int().min(50).max(60_000).default(1000).describe('How often buffered rows are written, in ms.'),
        max_buffer: z.number().int().min(100).max(1_000_000).default(50_000).describe('Rows buffered at most; beyond that the oldest unwritten rows are dropped and counted.'),
      })
      .prefault({})
      .describe('Query log, written in batches off the query path.'),
    doh_path: z.string().regex(/^\/[a-z0-9/_-]*$/).default('/dns-query').describe('Path of DNS over HTTPS (RFC 8484) on the portal listeners; `<path>/<token>` is a personal URL.'),
    doh_allow_anonymous: z.boolean().default(false)
      .describe('Answer DNS over HTTPS at `<path>` without a personal token from any address. Off: only loopback clients may (a local stub resolver); others get 403 dns_doh_anonymous_refused and must use their personal URL. Behind a reverse proxy on the same machine, list it in `access.trusted_proxies`, or every request looks like loopback. On, anyone who reaches the portal can make the gateway resolve names and start registration-date look-ups for them, unattributed to a user.'),
  })
  .superRefine((config, ctx) => {
    if (config.enabled && config.upstreams.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'at least one upstream is required when dns is enabled' });
    }
    const names = new Set(config.blocklists.map((list) => list.name));
    if (names.size !== config.blocklists.length) ctx.addIssue({ code: 'custom', path: ['blocklists'], message: 'blocklist names must be unique' });
    config.policies.forEach((policy, i) => {
      for (const list of policy.blocklists ?? []) {
        if (!names.has(list)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'blocklists'], message: `unknown blocklist "${list}"` });
      }
      if ((policy.block_response ?? config.block_response) === 'block_page' && !config.block_page.ipv4 && !config.block_page.ipv6) {
        ctx.addIssue({ code: 'custom', path: ['policies', i, 'block_response'], message: 'block_page needs block_page.ipv4 or ipv6' });
      }
    });
    if (config.block_response === 'block_page' && !config.block_page.ipv4 && !config.block_page.ipv6) {
      ctx.addIssue({ code: 'custom', path: ['block_page'], message: 'block_response block_page needs block_page.ipv4 or ipv6' });
    }
    if (config.cache.min_ttl_s > config.cache.max_ttl_s) {
      ctx.addIssue({ code: 'custom', path: ['cache', 'min_ttl_s'], message: 'min_ttl_s is larger than max_ttl_s' });
    }
  })
  .describe('DNS gateway: filtering resolver over UDP, TCP and DoH.');

export type DnsConfig = z.infer<typeof dnsConfigSchema>;
export type DnsConfigInput = z.input<typeof dnsConfigSchema>;
