import { ipv6Prefix64Of } from '../../lib/ip/ipv6-prefix64.js';

/**
 * Requests one client has in flight to one app, capped. The threat: a single client (a script, or a
 * page stuck in a retry loop) sends requests to an endpoint that never answers; each one holds an
 * upstream connection until the response timeout, so a few hundred of them fill the app's pool and
 * every other user waits or gets a 503. With a cap per client, that client gets 429s once it holds
 * `limit` requests, and the rest of the pool stays free for everybody else.
 *
 * Memory is bounded by the requests in flight: an entry is removed when its count returns to zero.
 */
export class ClientInFlightLimit {
  private readonly inFlight = new Map<string, number>();
  private total = 0;

  constructor(readonly limit: number) {}

  /**
   * Takes a slot for `address`; returns the release function (idempotent: a second call does
   * nothing, so every exit path may call it), or null when the client is at its limit.
   */
  acquire(address: string): (() => void) | null {
    const key = clientKeyOf(address);
    const held = this.inFlight.get(key) ?? 0;
    if (held >= this.limit) return null;
    this.inFlight.set(key, held + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(key);
    };
  }

  /** Requests in flight across all clients (tests assert it returns to zero). */
  get size(): number {
    return this.total;
  }

  /** Clients with at least one request in flight. */
  get clients(): number {
    return this.inFlight.size;
  }

  private release(key: string): void {
    const held = this.inFlight.get(key) ?? 0;
    this.total--;
    if (held <= 1) this.inFlight.delete(key);
    else this.inFlight.set(key, held - 1);
  }
}

/**
 * The key a client is counted under. An IPv6 host usually owns a whole /64 (SLAAC, RFC 4941 privacy
 * addresses) and can pick a fresh address per request, so IPv6 clients are counted per /64; IPv4
 * clients per address. Anything else (a unix socket, an empty address) is counted as itself.
 */
export function clientKeyOf(address: string): string {
  return ipv6Prefix64Of(address) ?? address;
}
