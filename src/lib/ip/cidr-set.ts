import { type CidrReading, type IpScratch, type ParsedCidr, parseCidr } from './ip-address.js';

/**
 * A compiled set of CIDRs: overlapping ranges are merged and sorted once, so a lookup is a binary
 * search over plain numbers (IPv4) or 4-word tuples (IPv6), with no parsing or allocation.
 */
export interface CidrSet {
  has(ip: IpScratch): boolean;
  /** The configured CIDR text that contains `ip`, for audit detail (slow path, allocates). */
  firstMatch(ip: IpScratch): string | undefined;
  readonly size: number;
}

function cmp6(a: Uint32Array, b: Uint32Array): number {
  for (let w = 0; w < 4; w++) {
    if (a[w] !== b[w]) return a[w]! < b[w]! ? -1 : 1;
  }
  return 0;
}

/** a + 1 would not overflow and equals b: adjacent ranges merge. */
function adjacent6(aEnd: Uint32Array, bStart: Uint32Array): boolean {
  const next = Uint32Array.from(aEnd);
  for (let w = 3; w >= 0; w--) {
    if (next[w] === 0xffffffff) {
      next[w] = 0;
      continue;
    }
    next[w] = next[w]! + 1;
    return cmp6(next, bStart) === 0;
  }
  return false;
}

/** `::ffff:0:0/96`, where IPv4 addresses live in IPv6 (RFC 4291 §2.5.5.2). */
const MAPPED_FIRST = Uint32Array.of(0, 0, 0xffff, 0);
const MAPPED_LAST = Uint32Array.of(0, 0, 0xffff, 0xffffffff);

/**
 * Compiles `texts` (read as `reading` says, strict by default). Addresses are matched with IPv4-mapped
 * IPv6 folded to IPv4, and an IPv4 range always covers its mapped form. A `lenient` set also lets an
 * IPv6 range that holds all of `::ffff:0:0/96` (`::/0`, `::/64`) cover every IPv4 address, as
 * node:net BlockList does; a strict set keeps the families apart (a policy on `::/0` means IPv6 clients).
 */
export function compileCidrSet(texts: readonly string[], reading: CidrReading = {}): CidrSet {
  const parsed: ParsedCidr[] = texts.map((text) => {
    const p = parseCidr(text, reading);
    // Programmer misuse: the config schema validates every CIDR before compilation.
    if (typeof p === 'string') throw new Error(`compileCidrSet: ${p}`);
    return p;
  });
  const ranges = reading.lenient ? [...parsed, ...parsed.flatMap(mappedIpv4Of)] : parsed;
  const v4 = ranges.filter((p) => p.kind === 4).sort((a, b) => a.start - b.start);
  const starts4: number[] = [];
  const ends4: number[] = [];
  for (const r of v4) {
    const last = ends4.length - 1;
    if (last >= 0 && r.start <= ends4[last]! + 1) ends4[last] = Math.max(ends4[last]!, r.end);
    else {
      starts4.push(r.start);
      ends4.push(r.end);
    }
  }
  const v6 = ranges.filter((p) => p.kind === 6).sort((a, b) => cmp6(a.start, b.start));
  const starts6: Uint32Array[] = [];
  const ends6: Uint32Array[] = [];
  for (const r of v6) {
    const last = ends6.length - 1;
    if (last >= 0 && (cmp6(r.start, ends6[last]!) <= 0 || adjacent6(ends6[last]!, r.start))) {
      if (cmp6(r.end, ends6[last]!) > 0) ends6[last] = r.end;
    } else {
      starts6.push(r.start);
      ends6.push(r.end);
    }
  }
  const s4 = Float64Array.from(starts4);
  const e4 = Float64Array.from(ends4);
  const n4 = s4.length;
  const n6 = starts6.length;

  function has(ip: IpScratch): boolean {
    if (ip.kind === 4) {
      if (n4 === 0) return false;
      const x = ip.v4;
      // Rightmost range whose start <= x.
      let lo = 0;
      let hi = n4 - 1;
      if (x < s4[0]!) return false;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (s4[mid]! <= x) lo = mid;
        else hi = mid - 1;
      }
      return x <= e4[lo]!;
    }
    if (ip.kind === 6) {
      if (n6 === 0 || cmp6(ip.v6, starts6[0]!) < 0) return false;
      let lo = 0;
      let hi = n6 - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (cmp6(starts6[mid]!, ip.v6) <= 0) lo = mid;
        else hi = mid - 1;
      }
      return cmp6(ip.v6, ends6[lo]!) <= 0;
    }
    return false;
  }

  function firstMatch(ip: IpScratch): string | undefined {
    for (const p of ranges) {
      if (p.kind === 4 && ip.kind === 4 && ip.v4 >= p.start && ip.v4 <= p.end) return p.text;
      if (p.kind === 6 && ip.kind === 6 && cmp6(ip.v6, p.start) >= 0 && cmp6(ip.v6, p.end) <= 0) return p.text;
    }
    return undefined;
  }

  return { has, firstMatch, size: parsed.length };
}

/** Every IPv4 address, when an IPv6 range holds the whole mapped block (a CIDR cannot hold part of it without being inside it, and then it parsed as IPv4). */
function mappedIpv4Of(range: ParsedCidr): ParsedCidr[] {
  if (range.kind !== 6 || cmp6(range.start, MAPPED_FIRST) > 0 || cmp6(range.end, MAPPED_LAST) < 0) return [];
  return [{ kind: 4, start: 0, end: 0xffffffff, text: range.text }];
}
