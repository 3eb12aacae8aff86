import { CharTrie } from './char-trie.js';
import type { SkeletonBuffer } from './confusable-skeleton.js';

/**
 * What a prefix or suffix of a label can be read as, weakest to strongest; the matcher keeps the
 * strongest reading. Values are ordered so that `Math.max` picks the strongest.
 */
export const UNREACHABLE = 0;
/** Nothing, or digits only (`acme360`). */
export const DIGITS_ONLY = 1;
/** Infrastructure words as separate hyphen tokens (`acme-cdn`): brands name their own hosts so too. */
export const INFRASTRUCTURE = 2;
/** At least one lure word (`acme-sso`, `acmehr`). */
export const LURE = 3;

/**
 * Splits a skeleton into lure words, infrastructure words and digit runs by dynamic programming over
 * positions, so that "is everything around the brand a keyword?" is one array read. `forward[p]` is the
 * strongest reading of `compact[0, p)`, `backward[s]` that of `compact[s, n)`. Hyphens are gone from
 * the skeleton (`acme-sso-login` reads as `acmessologin`), but infrastructure words only count where
 * hyphens surround them: `shopifycdn.com` is the brand's own CDN, `bestbuy-cdn.com` was a phishing host.
 */
export class KeywordSegmenter {
  readonly forward: Uint8Array;
  readonly backward: Uint8Array;
  /** `lureAt[p]`: length of the shortest lure word starting at `p` (0: none). */
  readonly lureAt: Uint8Array;
  private readonly lure = new CharTrie<true>();
  private readonly infrastructure = new CharTrie<true>();

  constructor(lureSkeletons: Iterable<string>, infrastructureSkeletons: Iterable<string>, capacity = 256) {
    for (const word of lureSkeletons) if (word.length > 0) this.lure.add(word, true);
    for (const word of infrastructureSkeletons) if (word.length > 0) this.infrastructure.add(word, true);
    this.forward = new Uint8Array(capacity + 1);
    this.backward = new Uint8Array(capacity + 1);
    this.lureAt = new Uint8Array(capacity + 1);
  }

  isKeyword(skeleton: string): boolean {
    return this.lure.get(skeleton) === true || this.infrastructure.get(skeleton) === true;
  }

  segment(buffer: SkeletonBuffer): void {
    const n = buffer.length;
    this.forward.fill(UNREACHABLE, 0, n + 1);
    this.backward.fill(UNREACHABLE, 0, n + 1);
    this.lureAt.fill(0, 0, n + 1);
    for (let p = 0; p < n; p++) {
      this.walk(this.lure, buffer, p, (end) => {
        if (this.lureAt[p] === 0) this.lureAt[p] = end - p;
      });
    }
    this.forward[0] = DIGITS_ONLY;
    for (let p = 0; p < n; p++) {
      const here = this.forward[p] ?? UNREACHABLE;
      if (here === UNREACHABLE) continue;
      for (let q = p; q < n && buffer.digit[q] === 1; q++) this.raise(this.forward, q + 1, here);
      const lureEnd = this.lureAt[p] ?? 0;
      if (lureEnd > 0) this.walk(this.lure, buffer, p, (end) => this.raise(this.forward, end, LURE));
      if (buffer.boundary[p] === 1) {
        this.walk(this.infrastructure, buffer, p, (end) => {
          if (buffer.boundary[end] === 1) this.raise(this.forward, end, Math.max(here, INFRASTRUCTURE));
        });
      }
    }
    this.backward[n] = DIGITS_ONLY;
    for (let s = n - 1; s >= 0; s--) {
      let best = UNREACHABLE;
      for (let q = s; q < n && buffer.digit[q] === 1; q++) best = Math.max(best, this.backward[q + 1] ?? UNREACHABLE);
      this.walk(this.lure, buffer, s, (end) => {
        if ((this.backward[end] ?? UNREACHABLE) !== UNREACHABLE) best = LURE;
      });
      if (buffer.boundary[s] === 1) {
        this.walk(this.infrastructure, buffer, s, (end) => {
          const after = this.backward[end] ?? UNREACHABLE;
          if (buffer.boundary[end] === 1 && after !== UNREACHABLE) best = Math.max(best, after, INFRASTRUCTURE);
        });
      }
      this.backward[s] = best;
    }
  }

  /**
   * Whether a lure word lies outside `[start, end)` of the last segmented skeleton as a whole hyphen
   * token, or as any part of a token when it is 4+ letters: `it` inside `digital` is not a lure.
   */
  hasLureOutside(buffer: SkeletonBuffer, start: number, end: number): boolean {
    for (let p = 0; p < buffer.length; p++) {
      const length = this.lureAt[p] ?? 0;
      if (length === 0 || (p + length > start && p < end)) continue;
      if (length >= 4 || (buffer.boundary[p] === 1 && buffer.boundary[p + length] === 1)) return true;
    }
    return false;
  }

  /** Calls `onWord(end)` for every word of `trie` that starts at `start`. */
  private walk(trie: CharTrie<true>, buffer: SkeletonBuffer, start: number, onWord: (end: number) => void): void {
    const text = buffer.compact;
    let node = trie.root.children.get(text.charCodeAt(start));
    for (let end = start + 1; node !== undefined; end++) {
      if (node.value === true) onWord(end);
      if (end >= buffer.length) break;
      node = node.children.get(text.charCodeAt(end));
    }
  }

  private raise(marks: Uint8Array, index: number, value: number): void {
    if ((marks[index] ?? 0) < value) marks[index] = value;
  }
}
