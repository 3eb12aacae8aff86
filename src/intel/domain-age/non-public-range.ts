import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Special-purpose ranges (RFC 6890 and the IANA special-purpose address registries) that an RDAP
 * request must never reach: a hostile registry or redirect would otherwise make the gateway probe
 * its own network (SSRF), e.g. the cloud metadata service at 169.254.169.254.
 */
const IPV4_RANGES: readonly (readonly [network: string, prefix: number, name: string])[] = [
  ['0.0.0.0', 8, 'unspecified'], // RFC 1122 §3.2.1.3 "this network"; 0.0.0.0 reaches the local host
  ['10.0.0.0', 8, 'private'], // RFC 1918 §3
  ['100.64.0.0', 10, 'shared (CGNAT)'], // RFC 6598
  ['127.0.0.0', 8, 'loopback'], // RFC 1122 §3.2.1.3
  ['169.254.0.0', 16, 'link-local'], // RFC 3927
  ['172.16.0.0', 12, 'private'], // RFC 1918 §3
  ['192.0.0.0', 24, 'IETF protocol assignments'], // RFC 6890 §2.2.2
  ['192.168.0.0', 16, 'private'], // RFC 1918 §3
  ['198.18.0.0', 15, 'benchmarking'], // RFC 2544
  ['224.0.0.0', 4, 'multicast'], // RFC 5771
  ['240.0.0.0', 4, 'reserved'], // RFC 1112 §4, including 255.255.255.255 broadcast
];

const IPV6_RANGES: readonly (readonly [network: string, prefix: number, name: string])[] = [
  ['::', 128, 'unspecified'], // RFC 4291 §2.5.2
  ['::1', 128, 'loopback'], // RFC 4291 §2.5.3
  ['100::', 64, 'discard-only'], // RFC 6666
  ['fc00::', 7, 'unique local'], // RFC 4193
  ['fe80::', 10, 'link-local'], // RFC 4291 §2.5.6
  ['fec0::', 10, 'site-local'], // RFC 3879 (deprecated, still routed by some stacks)
  ['ff00::', 8, 'multicast'], // RFC 4291 §2.7
];

/**
 * IPv6 forms that carry an IPv4 address the packets end up at: IPv4-mapped (RFC 4291 §2.5.5.2, how
 * a dual-stack socket names 127.0.0.1), IPv4-compatible (§2.5.5.1) and the NAT64 well-known prefix
 * (RFC 6052 §2.1). `::ffff:127.0.0.1` must be as refused as `127.0.0.1`.
 */
const IPV4_CARRIERS: readonly (readonly [prefix: string, form: string])[] = [
  ['::ffff:', 'IPv4-mapped'],
  ['::', 'IPv4-compatible'],
  ['64:ff9b::', 'NAT64'],
];

type Family = 'ipv4' | 'ipv6';

/** One list per range, so the match can be named; each is consulted only for its own family. */
const lists: { family: Family; list: BlockList; name: string }[] = [];
function addRange(family: Family, network: string, prefix: number, name: string): void {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  lists.push({ family, list, name });
}
for (const [network, prefix, name] of IPV6_RANGES) addRange('ipv6', network, prefix, name);
for (const [network, prefix, name] of IPV4_RANGES) {
  addRange('ipv4', network, prefix, name);
  for (const [carrier, form] of IPV4_CARRIERS) addRange('ipv6', `${carrier}${network}`, 96 + prefix, `${form} ${name}`);
}

/**
 * The special-purpose range `address` lies in (`"loopback"`, `"IPv4-mapped private"`...), or
 * undefined for a public unicast address. Anything that is not an IP address is treated as
 * non-public: the caller must resolve names first.
 */
export function nonPublicRange(address: string): string | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIPv4(bare) ? 'ipv4' : isIPv6(bare) ? 'ipv6' : undefined;
  if (!family) return 'not an IP address';
  for (const entry of lists) {
    // BlockList also matches across families (IPv4 input against IPv4-mapped rules and back), which
    // would blur the range's name; the family filter keeps each form under its own entry.
    if (entry.family === family && entry.list.check(bare, family)) return entry.name;
  }
  return undefined;
}
