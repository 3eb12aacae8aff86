import net from 'node:net';
import type { ClientContext } from './verdict.js';

/**
 * The key a DNS client's registration-date lookups are counted under (`dns.age.client_lookups_per_window`):
 * the personal DoH user when there is one, else the source address. IPv6 clients are counted per /64,
 * the smallest prefix a site is usually given: one host can pick any address in its /64 and would
 * otherwise get a fresh budget with each.
 */
export function lookupRequesterOf(client: Pick<ClientContext, 'address' | 'user'>): string {
  if (client.user !== undefined) return `user:${client.user}`;
  const address = client.address.startsWith('::ffff:') && client.address.includes('.') ? client.address.slice(7) : client.address;
  if (net.isIPv6(address)) return `ip:${ipv6Prefix64(address)}`;
  return `ip:${address}`;
}

/** The first four 16-bit groups of an IPv6 address, e.g. `2001:db8:0:1::/64`. */
function ipv6Prefix64(address: string): string {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}
