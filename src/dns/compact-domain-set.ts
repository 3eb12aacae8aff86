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

  /**
   * bucketStart[b] = first entry whose hi >>> 16 >= b: narrows each search to ~n/65536 entries, so a
   * lookup touches a few cache lines instead of ~20 scattered across the whole array.
   */
  private readonly bucketStart: Uint32Array;

  constructor(pairs: Uint32Array) {
    this.pairs = pairs;
    this.size = pairs.length / 2;
    this.bucketStart = new Uint32Array(this.size > 0 ? 65537 : 1);
    if (this.size > 0) {
      let entry = 0;
      for (let bucket = 0; bucket <= 65536; bucket++) {
        while (entry < this.size && pairs[2 * entry + 1]! >>> 16 < bucket) entry++;
        this.bucketStart[bucket] = entry;
      }
    }
  }

  static readonly empty = new CompactDomainSet(new Uint32Array(0));

  get byteLength(): number {
    return this.pairs.byteLength + this.bucketStart.byteLength;
  }

  /** Index of the first entry >= (hi, lo). */
  private lowerBound(hi: number, lo: number): number {
    const pairs = this.pairs;
    const bucket = hi >>> 16;
    let low = this.bucketStart[bucket]!;
    let high = this.bucketStart[bucket + 1]!;
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

/** ES2024 resizable ArrayBuffer (V8 11.1+, Node 20): grows and shrinks in place, no copy. */
type ResizableArrayBuffer = ArrayBuffer & { resize(byteLength: number): void; readonly maxByteLength: number };
const ResizableArrayBufferCtor = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

/** 2^28 names (2 GiB of hashes): far above any real list, and only address space until used. */
const MAX_BYTES = 2 ** 31;

/**
 * Collects hashes in one resizable ArrayBuffer that grows in place and is shrunk to its exact size after
 * the native sort and de-duplication: loading a million names leaves no copies behind for the GC, so
 * the resident size after a load is the set itself.
 */
export class CompactDomainSetBuilder {
  private buffer: ResizableArrayBuffer;
  private pairs: Uint32Array;
  private count = 0;

  constructor(initialEntries = 65536) {
    if (os.endianness() !== 'LE') throw new Error('CompactDomainSet assumes a little-endian host');
    this.buffer = new ResizableArrayBufferCtor(initialEntries * 8, { maxByteLength: MAX_BYTES });
    // A length-tracking view follows the buffer as it grows.
    this.pairs = new Uint32Array(this.buffer);
  }

  get length(): number {
    return this.count;
  }

  add(hi: number, lo: number): void {
    if (2 * this.count + 2 > this.pairs.length) {
      const grown = Math.min(MAX_BYTES, Math.max(this.buffer.byteLength * 1.5, 1 << 20));
      if (grown <= this.buffer.byteLength) throw new Error('blocklist exceeds 268 million names');
      this.buffer.resize(Math.floor(grown / 8) * 8);
    }
    this.pairs[2 * this.count] = lo;
    this.pairs[2 * this.count + 1] = hi;
    this.count++;
  }

  build(): CompactDomainSet {
    const n = this.count;
    const p = this.pairs;
    this.count = 0;
    if (n === 0) return CompactDomainSet.empty;
    // On a little-endian host each (lo, hi) pair read as a uint64 is hi·2^32 + lo: the typed-array sort
    // runs in C++ without creating a BigInt per entry.
    new BigUint64Array(this.buffer, 0, n).sort();
    let unique = 1;
    for (let i = 1; i < n; i++) {
      if (p[2 * i] !== p[2 * unique - 2] || p[2 * i + 1] !== p[2 * unique - 1]) {
        p[2 * unique] = p[2 * i]!;
        p[2 * unique + 1] = p[2 * i + 1]!;
        unique++;
      }
    }
    const buffer = this.buffer;
    buffer.resize(unique * 8);
    this.buffer = new ResizableArrayBufferCtor(0, { maxByteLength: MAX_BYTES });
    this.pairs = new Uint32Array(this.buffer);
    return new CompactDomainSet(new Uint32Array(buffer, 0, 2 * unique));
  }
}
