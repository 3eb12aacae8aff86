/**
 * Seeded 64-bit hashing of domain names, computed from the last byte to the first so that one pass over
 * a name yields the hash of every parent suffix ("com", "example.com", "a.example.com"): a blocked name
 * blocks its subdomains, so each query checks each suffix.
 *
 * Two 32-bit multiplicative lanes (FNV-1a and a Murmur-style lane) are mixed by fmix32 at each label
 * boundary. Not a cryptographic hash: the seeds are drawn from the injected Random per gateway, so an
 * outsider cannot precompute a name that collides with a listed one. Assuming uniform output, a name not
 * on a list of n entries matches by accident with probability about n / 2^63 per suffix checked (one bit
 * carries the wildcard flag): 1.1e-13 for n = 1,000,000, i.e. about one false block per 3e12 queries.
 * A collision can only over-block, never let a listed name through.
 */

/** Largest number of labels in a wire-format name (RFC 1035 §2.3.4: 255 octets, 2 per label). */
export const MAX_LABELS = 128;

const LOWER = new Uint8Array(256);
for (let i = 0; i < 256; i++) LOWER[i] = i >= 0x41 && i <= 0x5a ? i + 0x20 : i;

function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class DomainHasher {
  private readonly seedA: number;
  private readonly seedB: number;
  /** Outputs of the last `hashName` call (avoids allocating a pair per name on the load path). */
  hi = 0;
  lo = 0;

  constructor(seed: Uint8Array) {
    if (seed.length < 8) throw new Error('DomainHasher needs an 8-byte seed');
    this.seedA = ((seed[0]! | (seed[1]! << 8) | (seed[2]! << 16) | (seed[3]! << 24)) ^ 0x811c9dc5) >>> 0;
    this.seedB = ((seed[4]! | (seed[5]! << 8) | (seed[6]! << 16) | (seed[7]! << 24)) ^ 0x9747b28c) >>> 0;
  }

  private finish(a: number, b: number, subdomainsOnly: boolean): void {
    const hi = fmix32(a ^ Math.imul(b, 0x9e3779b1));
    const lo = fmix32(b ^ Math.imul(hi, 0x27d4eb2f));
    this.hi = hi;
    // The low bit marks "*.name" entries, which block the subdomains but not the name itself.
    this.lo = ((lo & ~1) | (subdomainsOnly ? 1 : 0)) >>> 0;
  }

  /** Hash of bytes [start, end) of `bytes` (a dotted name, any case, no trailing dot). */
  hashName(bytes: Uint8Array, start: number, end: number, subdomainsOnly = false): void {
    let a = this.seedA;
    let b = this.seedB;
    for (let i = end - 1; i >= start; i--) {
      const c = LOWER[bytes[i]!]!;
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.finish(a, b, subdomainsOnly);
  }

  /**
   * Hashes every suffix of the dotted name in bytes [0, length) into `out` as (hi, lo) pairs, shortest
   * suffix first; the last pair is the whole name. Returns the number of suffixes.
   */
  hashSuffixes(bytes: Uint8Array, length: number, out: Uint32Array): number {
    let a = this.seedA;
    let b = this.seedB;
    let count = 0;
    for (let i = length - 1; i >= 0; i--) {
      const c = LOWER[bytes[i]!]!;
      if (c === 0x2e && count < MAX_LABELS - 1) {
        this.finish(a, b, false);
        out[2 * count] = this.hi;
        out[2 * count + 1] = this.lo;
        count++;
      }
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    if (length > 0) {
      this.finish(a, b, false);
      out[2 * count] = this.hi;
      out[2 * count + 1] = this.lo;
      count++;
    }
    return count;
  }
}
