import { unmapIPv4 } from '../lib/ip/unmap-ipv4.js';

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is written as `192.0.2.1`. */
export function normaliseAddress(address: string | undefined): string {
  return address ? unmapIPv4(address) : '';
}
