/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is written as `192.0.2.1`. */
export function normaliseAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
