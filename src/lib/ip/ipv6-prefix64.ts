import { parseIpv6GroupsInto } from './ip-address.js';

const groups = new Uint16Array(8);

/**
 * The /64 an IPv6 address belongs to, as a counting key: its first four groups in lower-case hex,
 * `2001:db8:0:1::/64`. A host is usually given a whole /64 (SLAAC, RFC 4941 privacy addresses) and
 * can pick any address in it, so a per-client budget keyed by address would hand it a fresh one per
 * request. Undefined for anything that is not IPv6 text (IPv4, a unix socket, junk). Any IPv6 text
 * counts, `::ffff:a.b.c.d` too: unmap it first (unmapIPv4) to count a mapped client as its IPv4 address.
 */
export function ipv6Prefix64Of(address: string): string | undefined {
  if (!parseIpv6GroupsInto(address, groups)) return undefined;
  return `${groups[0]!.toString(16)}:${groups[1]!.toString(16)}:${groups[2]!.toString(16)}:${groups[3]!.toString(16)}::/64`;
}
