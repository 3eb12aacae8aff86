import { type IpScratch, formatIp, parseDottedInto, parseIpInto } from './ip-address.js';

/** Spellings remembered per engine; the client chooses them (X-Forwarded-For), so bounded. */
const MAX_REMEMBERED_SPELLINGS = 4096;

interface RememberedAddress {
  readonly kind: 4 | 6;
  readonly v4: number;
  readonly v6: Uint32Array;
  readonly canonical: string;
}

/** Canonical text: dotted IPv4 (also for IPv4-mapped IPv6) or RFC 5952 IPv6, what `isIpBlocked` receives. */
export function canonicalIpText(raw: string, ip: IpScratch): string {
  if (ip.kind === 4) {
    // Dotted IPv4 that parsed strictly (no leading zeros) is already canonical.
    if (raw.indexOf(':') < 0) return raw;
    // The usual dual-stack form: the strictly parsed dotted tail after "::ffff:" is the answer.
    if (raw.startsWith('::ffff:') && raw.indexOf('.') > 0 && raw.indexOf('%') < 0) return raw.slice(7);
  }
  return formatIp(ip);
}

/**
 * Reads the client address of each request: plain dotted IPv4 is parsed on the spot (it is its
 * own canonical text); other spellings (IPv6, "::ffff:a.b.c.d") cost a parse and a formatting
 * that allocates, so their result is remembered by spelling: a client keeps its address across
 * requests. Both answers are fixed functions of the text, so reuse never changes a decision.
 */
export class ClientAddresses {
  private readonly bySpelling = new Map<string, RememberedAddress>();

  /** Parses `raw` into `ip` and returns its canonical text, or undefined when it is not an address. */
  read(raw: string, ip: IpScratch): string | undefined {
    if (parseDottedInto(raw, ip)) return raw;
    // Longer than any address spelling (parseIpInto's own limit): not worth hashing.
    if (raw.length > 64) {
      ip.kind = 0;
      return undefined;
    }
    const known = this.bySpelling.get(raw);
    if (known !== undefined) {
      ip.kind = known.kind;
      ip.v4 = known.v4;
      ip.v6.set(known.v6);
      return known.canonical;
    }
    // Text that is no address is not remembered: junk must not push real clients out.
    if (!parseIpInto(raw, ip)) return undefined;
    const canonical = canonicalIpText(raw, ip);
    if (this.bySpelling.size >= MAX_REMEMBERED_SPELLINGS) this.bySpelling.clear();
    this.bySpelling.set(raw, { kind: ip.kind as 4 | 6, v4: ip.v4, v6: Uint32Array.from(ip.v6), canonical });
    return canonical;
  }
}
