import type { RestartOnlyKey } from '../lib/restart-only-changes.js';

/** `dns.*` settings `DnsLayer.reload` cannot apply; every other `dns.*` key is applied on reload. */
export const DNS_RESTART_ONLY_KEYS: readonly RestartOnlyKey[] = [
  // The DoH routes are mounted on the portal's router once, before it starts serving.
  { path: 'dns.doh_path', reason: 'the DNS over HTTPS routes are mounted once, at start' },
];
