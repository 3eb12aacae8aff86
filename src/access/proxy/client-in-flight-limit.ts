import { isIP } from 'node:net';

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
  if (isIP(address) !== 6) return address;
  const groups = expandIPv6(address);
  return groups === null ? address : `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] | null {
  let text = address;
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    // Embedded IPv4 in the low 32 bits (RFC 4291 §2.2 form 3): two more groups.
    const octets = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((octets[0]! << 8) | octets[1]!).toString(16)}:${((octets[2]! << 8) | octets[3]!).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right];
  return groups.map((group) => Number.parseInt(group, 16).toString(16));
}
