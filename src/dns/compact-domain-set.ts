/**
 * A read-only set of domain-name hashes: 8 bytes per name in one sorted typed array, looked up by binary
 * search. A JS Set of 1,000,000 strings costs ~60 MB of heap; this costs 8 MB and no GC pressure.
 * Entries come from DomainHasher; the low bit of `lo` is the "subdomains only" flag of `*.name` entries.
 */
import os from 'node:os';

export interface SuffixMatch {
  /** Index of the matching suffix in the array given to `match` (0 = top-level label). */
  suffixIndex: number;
}

export class CompactDomainSet {
  /** (lo, hi) pairs, sorted by the unsigned 64-bit value hi·2^32 + lo. */
  private readonly pairs: Uint32Array;
  readonly size: number;

  constructor(pairs: Uint32Array) {
    this.pairs = pairs;
    this.size = pairs.length / 2;
  }

  static readonly empty = new CompactDomainSet(new Uint32Array(0));

  get byteLength(): number {
    return this.pairs.byteLength;
  }

  /** Index of the first entry >= (hi, lo). */
  private lowerBound(hi: number, lo: number): number {
    const pairs = this.pairs;
    let low = 0;
    let high = this.size;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const midHi = pairs[2 * mid + 1]!;
      if (midHi < hi || (midHi === hi && pairs[2 * mid]! < lo)) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private has(hi: number, lo: number): boolean {
    const i = this.lowerBound(hi, lo);
    return i < this.size && this.pairs[2 * i + 1] === hi && this.pairs[2 * i] === lo;
  }

  /**
   * Given the suffix hashes of a query name (DomainHasher.hashSuffixes: shortest first, whole name
   * last), returns the index of the shortest listed suffix, or -1. The whole name matches plain entries;
   * a proper parent matches plain entries and `*.parent` entries.
   */
  match(suffixes: Uint32Array, count: number): number {
    if (this.size === 0) return -1;
    for (let k = 0; k < count; k++) {
      const hi = suffixes[2 * k]!;
      const plain = suffixes[2 * k + 1]! & ~1;
      const i = this.lowerBound(hi, plain >>> 0);
      if (i >= this.size || this.pairs[2 * i + 1] !== hi) continue;
      const lo = this.pairs[2 * i]!;
      if (lo === plain >>> 0) return k;
      if (k < count - 1) {
        const wildcard = (plain | 1) >>> 0;
        if (lo === wildcard) return k;
        if (i + 1 < this.size && this.pairs[2 * i + 3] === hi && this.pairs[2 * i + 2] === wildcard) return k;
      }
    }
    return -1;
  }

  /** Exact membership of one (hi, lo) hash, flag bit included. */
  hasHash(hi: number, lo: number): boolean {
    return this.has(hi >>> 0, lo >>> 0);
  }
}

/** Collects hashes, then sorts and de-duplicates them natively into a CompactDomainSet. */
export class CompactDomainSetBuilder {
  private pairs: Uint32Array;
  private count = 0;

  constructor(expected = 1024) {
    if (os.endianness() !== 'LE') throw new Error('CompactDomainSet assumes a little-endian host');
    this.pairs = new Uint32Array(Math.max(2, expected * 2));
  }

  get length(): number {
    return this.count;
  }

  add(hi: number, lo: number): void {
    if (2 * this.count + 2 > this.pairs.length) {
      const grown = new Uint32Array(this.pairs.length * 2);
      grown.set(this.pairs);
      this.pairs = grown;
    }
    this.pairs[2 * this.count] = lo;
    this.pairs[2 * this.count + 1] = hi;
    this.count++;
  }

  build(): CompactDomainSet {
    const n = this.count;
    if (n === 0) return CompactDomainSet.empty;
    // On a little-endian host each (lo, hi) pair read as a uint64 is hi·2^32 + lo: the typed-array sort
    // runs in C++ without creating a BigInt per entry.
    const wide = new BigUint64Array(this.pairs.buffer, 0, n);
    wide.sort();
    const p = this.pairs;
    let unique = 1;
    for (let i = 1; i < n; i++) {
      if (p[2 * i] !== p[2 * unique - 2] || p[2 * i + 1] !== p[2 * unique - 1]) {
        p[2 * unique] = p[2 * i]!;
        p[2 * unique + 1] = p[2 * i + 1]!;
        unique++;
      }
    }
    // Copy into an exact-size array so the growth slack is released.
    const exact = p.slice(0, 2 * unique);
    this.pairs = new Uint32Array(2);
    this.count = 0;
    return new CompactDomainSet(exact);
  }
}
