import { ipv6Prefix64Of } from '../lib/ip/ipv6-prefix64.js';
import { unmapIPv4 } from '../lib/ip/unmap-ipv4.js';
import type { ClientContext } from './verdict.js';

/**
 * The key a DNS client's registration-date lookups are counted under (`dns.age.client_lookups_per_window`):
 * the personal DoH user when there is one, else the source address. IPv6 clients are counted per /64,
 * the smallest prefix a site is usually given: one host can pick any address in its /64 and would
 * otherwise get a fresh budget with each.
 */
export function lookupRequesterOf(client: Pick<ClientContext, 'address' | 'user'>): string {
  if (client.user !== undefined) return `user:${client.user}`;
  const address = unmapIPv4(client.address);
  return `ip:${ipv6Prefix64Of(address) ?? address}`;
}
