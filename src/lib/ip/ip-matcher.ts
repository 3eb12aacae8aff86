import { compileCidrSet } from './cidr-set.js';
import { formatIp, newIpScratch, parseIpInto } from './ip-address.js';

/**
 * For callers holding address text (run-time IP blocks, incident hunts, the DoH loopback check): the
 * same CIDR semantics as the policy engine, including IPv4-mapped IPv6 folding, behind a string API.
 */
export function compileIpMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const set = compileCidrSet(cidrs);
  const scratch = newIpScratch();
  // Unparseable text is in no set: callers deciding trust must treat it as untrusted.
  return (ip) => parseIpInto(ip, scratch) && set.has(scratch);
}

/** Canonical text (dotted IPv4, also for `::ffff:a.b.c.d`; RFC 5952 IPv6), or undefined if not an address. */
export function canonicalIp(ip: string): string | undefined {
  const scratch = newIpScratch();
  return parseIpInto(ip, scratch) ? formatIp(scratch) : undefined;
}
