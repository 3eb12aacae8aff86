/**
 * IP address and CIDR parsing, Gatehouse's one reading of an address (the access policy engine, DNS
 * client policies, IP blocks, incident hunts). Written by hand (not node:net) because the hot paths
 * need the numeric form, not just a yes/no: IPv4 becomes one uint32, IPv6 four uint32 words.
 *
 * IPv4-mapped IPv6 (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) is folded to IPv4 on both sides, so a
 * dual-stack listener that reports `::ffff:203.0.113.9` meets the same rules as `203.0.113.9`.
 */

/** Reusable scratch the hot path parses into, so a decision allocates nothing for the address. */
export interface IpScratch {
  kind: 0 | 4 | 6;
  v4: number;
  readonly v6: Uint32Array;
}

export function newIpScratch(): IpScratch {
  return { kind: 0, v4: 0, v6: new Uint32Array(4) };
}

export type ParsedCidr =
  | { readonly kind: 4; readonly start: number; readonly end: number; readonly text: string }
  | { readonly kind: 6; readonly start: Uint32Array; readonly end: Uint32Array; readonly text: string };

function parseV4(s: string, from: number, to: number): number {
  let value = 0;
  let octets = 0;
  let i = from;
  while (i <= to) {
    const start = i;
    let octet = 0;
    while (i < to) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    // Leading zeros are refused: inet_aton reads `010` as octal 8, so accepting it invites disagreement.
    if (len === 0 || len > 3 || octet > 255 || (len > 1 && s.charCodeAt(start) === 48)) return -1;
    value = value * 256 + octet;
    octets++;
    if (i === to) break;
    if (s.charCodeAt(i) !== 46 || octets === 4) return -1;
    i++;
    if (i === to) return -1;
  }
  return octets === 4 ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses IPv6 text (RFC 4291 §2.2) into 8 groups; returns false when malformed. */
function parseV6Groups(s: string, to: number, groups: Uint16Array): boolean {
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === to) {
      groups.fill(0);
      return true;
    }
  }
  while (i < to) {
    if (n === 8) return false;
    const start = i;
    let value = 0;
    while (i < to) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      value = value * 16 + d;
      i++;
    }
    if (i < to && s.charCodeAt(i) === 46) {
      // Trailing dotted IPv4 (RFC 4291 §2.2 form 3) fills the last two groups.
      if (n > 6) return false;
      const v4 = parseV4(s, start, to);
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = to;
      break;
    }
    if (i - start === 0 || i - start > 4) return false;
    groups[n++] = value;
    if (i === to) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i === to) break;
    } else if (i === to) {
      return false;
    }
  }
  if (gap < 0) return n === 8;
  if (n === 8) return false;
  const tail = n - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

const groupsScratch = new Uint16Array(8);

/**
 * Parses IPv6 text into its 8 groups as written, without folding IPv4-mapped addresses to IPv4 (for
 * keys that follow the IPv6 layout, see ipv6-prefix64.ts). A `%zone` suffix is ignored.
 */
export function parseIpv6GroupsInto(text: string, groups: Uint16Array): boolean {
  if (text.indexOf(':') < 0) return false;
  const zone = text.indexOf('%');
  return parseV6Groups(text, zone < 0 ? text.length : zone, groups);
}

/** Parses plain dotted IPv4 only (the common case, no allocation); false for anything else. */
export function parseDottedInto(text: string, out: IpScratch): boolean {
  out.kind = 0;
  const len = text.length;
  if (len === 0 || len > 15) return false;
  const v4 = parseV4(text, 0, len);
  if (v4 < 0) return false;
  out.kind = 4;
  out.v4 = v4;
  return true;
}

/**
 * Parses `text` into `out`. A `%zone` suffix (link-local scope from a socket) is ignored for
 * matching. Returns false, leaving `out.kind` 0, when the text is not an address.
 */
export function parseIpInto(text: string, out: IpScratch): boolean {
  out.kind = 0;
  const len = text.length;
  if (len === 0 || len > 64) return false;
  // Dotted IPv4 first, in one pass: it stops at the first character that is not a digit or a
  // dot, so IPv6 text (which always has a ":") costs it a few characters.
  const v4 = parseV4(text, 0, len);
  if (v4 >= 0) {
    out.kind = 4;
    out.v4 = v4;
    return true;
  }
  if (text.indexOf(':') < 0) return false;
  const zone = text.indexOf('%');
  if (!parseV6Groups(text, zone < 0 ? len : zone, groupsScratch)) return false;
  const g = groupsScratch;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    out.kind = 4;
    out.v4 = (g[6]! * 65536 + g[7]!) >>> 0;
    return true;
  }
  out.kind = 6;
  for (let w = 0; w < 4; w++) out.v6[w] = (g[2 * w]! * 65536 + g[2 * w + 1]!) >>> 0;
  return true;
}

/** Decimal octets and hex bytes as text, built once: formatting runs for every IPv6 client. */
const DECIMAL = Array.from({ length: 256 }, (_, i) => String(i));
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX_PADDED = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** One 16-bit group in lower-case hex without leading zeros (RFC 5952 §4.1, §4.3). */
function hexGroup(g: number): string {
  const high = g >>> 8;
  return high === 0 ? HEX[g]! : HEX[high]! + HEX_PADDED[g & 255]!;
}

/** Canonical text of a parsed address: dotted IPv4 (also for mapped IPv6) or RFC 5952 IPv6. */
export function formatIp(ip: IpScratch): string {
  if (ip.kind === 4) {
    const v = ip.v4;
    return `${DECIMAL[v >>> 24]}.${DECIMAL[(v >>> 16) & 255]}.${DECIMAL[(v >>> 8) & 255]}.${DECIMAL[v & 255]}`;
  }
  if (ip.kind !== 6) return '';
  const g = formatScratch;
  for (let w = 0; w < 4; w++) {
    g[2 * w] = ip.v6[w]! >>> 16;
    g[2 * w + 1] = ip.v6[w]! & 0xffff;
  }
  // RFC 5952 §4.2.3: compress the longest run of two or more zero groups, the first on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== best + bestLen) out += ':';
    out += hexGroup(g[i]!);
  }
  return out;
}

const formatScratch = new Uint16Array(8);

/**
 * How a range is read. The default is strict, for ranges a person writes into a policy. `lenient`
 * is node:net BlockList's reading, which `dns.policies[].networks` has always had: host bits are
 * cleared (`10.0.0.1/8` is 10.0.0.0/8), a zone id is ignored, the prefix may have leading zeros, and
 * an IPv4-mapped address with a prefix shorter than /96 is an IPv6 range (see compileCidrSet).
 */
export interface CidrReading {
  readonly lenient?: boolean;
}

/**
 * Parses `addr/prefix` (or a bare address, meaning one host). Host bits must be zero: `10.0.0.1/8`
 * is refused as a likely typo rather than silently widened. Returns an error message on failure.
 */
export function parseCidr(text: string, { lenient = false }: CidrReading = {}): ParsedCidr | string {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  if (addrText.includes('%') && !lenient) return `"${text}": zone ids are not allowed in a CIDR`;
  const ip = newIpScratch();
  if (!parseIpInto(addrText, ip)) return `"${text}" is not an IPv4 or IPv6 CIDR`;
  const mapped = ip.kind === 4 && addrText.includes(':');
  const max = ip.kind === 4 && !mapped ? 32 : 128;
  let prefix = ip.kind === 4 ? 32 : 128;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!(lenient ? /^[0-9]{1,3}$/ : /^(0|[1-9][0-9]{0,2})$/).test(p)) return `"${text}": prefix length must be a number`;
    prefix = Number(p);
    if (mapped) {
      // A mapped prefix counts the 96 bits of ::ffff:0:0/96 in front of the IPv4 bits.
      if (prefix > 128 || (prefix < 96 && !lenient)) return `"${text}": an IPv4-mapped prefix must be /96 to /128`;
      if (prefix < 96) {
        // Wider than ::ffff:0:0/96: an IPv6 range that holds every IPv4-mapped address and more.
        ip.v6.set([0, 0, 0xffff, ip.v4]);
        ip.kind = 6;
      } else {
        prefix -= 96;
      }
    } else if (prefix > max) {
      return `"${text}": prefix length exceeds ${max}`;
    }
  }
  if (ip.kind === 4) {
    const hostBits = 32 - prefix;
    const size = 2 ** hostBits;
    const network = ip.v4 - (ip.v4 % size);
    if (network !== ip.v4 && !lenient) return `"${text}": host bits are set (the network is ${formatNetwork4(network, prefix)})`;
    return { kind: 4, start: network, end: network + size - 1, text };
  }
  const start = new Uint32Array(4);
  const end = new Uint32Array(4);
  for (let w = 0; w < 4; w++) {
    const bits = Math.min(32, Math.max(0, prefix - 32 * w));
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((ip.v6[w]! & ~mask) >>> 0 !== 0 && !lenient) return `"${text}": host bits are set`;
    start[w] = (ip.v6[w]! & mask) >>> 0;
    end[w] = (ip.v6[w]! | ~mask) >>> 0;
  }
  return { kind: 6, start, end, text };
}

function formatNetwork4(v4: number, prefix: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}/${prefix}`;
}
