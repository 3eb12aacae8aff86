import { parseCidr } from '../../lib/ip/ip-address.js';
import { compileIpMatcher } from '../../lib/ip/ip-matcher.js';

/** The CIDR ranges whose X-Forwarded-* headers are believed (the load balancers in front of Gatehouse). */
export interface TrustedProxies {
  contains(address: string): boolean;
  readonly empty: boolean;
}

/**
 * Parses `trusted_proxies` entries (`10.0.0.0/8`, `::1/128`, or a bare address) with the one CIDR
 * reading the policy engine uses, so "trusted" and "in this policy's network" cannot disagree about
 * an address (IPv4-mapped IPv6 from a dual-stack socket is folded to IPv4 on both sides). Programmer
 * or config error: throws at start-up naming the bad entry. Unparseable peer text is never trusted.
 */
export function createTrustedProxies(cidrs: readonly string[]): TrustedProxies {
  const entries = cidrs.map((entry, index) => {
    const text = String(entry).trim();
    if (typeof parseCidr(text) === 'string') throw new TypeError(`trusted_proxies[${index}]: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    return text;
  });
  const empty = entries.length === 0;
  const matches = compileIpMatcher(entries);
  return {
    empty,
    contains: (address) => !empty && matches(address),
  };
}
