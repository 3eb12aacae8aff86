import { BlockList, isIP } from 'node:net';

/** The CIDR ranges whose X-Forwarded-* headers are believed (the load balancers in front of Gatehouse). */
export interface TrustedProxies {
  contains(address: string): boolean;
  readonly empty: boolean;
}

/**
 * Parses `trusted_proxies` entries (`10.0.0.0/8`, `::1/128`, or a bare address). Programmer or config
 * error: throws at start-up naming the bad entry.
 */
export function createTrustedProxies(cidrs: readonly string[]): TrustedProxies {
  const list = new BlockList();
  cidrs.forEach((entry, index) => {
    const [address = '', prefixText, extra] = String(entry).trim().split('/');
    const family = isIP(address);
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || prefixText === '') {
      throw new TypeError(`trusted_proxies[${index}]: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  });
  const empty = cidrs.length === 0;
  return {
    empty,
    contains(address) {
      if (empty) return false;
      const plain = unmapIPv4(address);
      const family = isIP(plain);
      if (family === 0) return false;
      return list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

/** A dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`; CIDRs are written for the IPv4 form. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
