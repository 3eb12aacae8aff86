/**
 * A dual-stack listener reports an IPv4 peer as `::ffff:a.b.c.d` (IPv4-mapped IPv6, RFC 4291
 * §2.5.5.2); this returns the dotted `a.b.c.d` that configs, logs and blocks are written in, and any
 * other text unchanged. Text only, for callers that keep the address as text; matching goes through
 * parseIpInto, which folds every spelling of a mapped address (also `::ffff:c000:201`).
 */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
