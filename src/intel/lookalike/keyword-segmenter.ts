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

/** How a word counts; a word may carry several flags. */
export const WORD = {
  /** Lure strength (else infrastructure strength). */
  lure: 1,
  /** Counts only as a whole hyphen token (`acme-cdn`, `livechat-salesforce`), never glued. */
  tokenOnly: 2,
  /** Two letters with a vowel (`it`, `id`, `us`): inside ordinary words beside short brands (`fox`+`it`). */
  shortWithVowel: 4,
  /** Generic words (`plus`, `info`, `global`): glued, they make ordinary business names. */
  generic: 8,
  /** Joins two readings (`work`+`at`+`acme`): carries the words before it, never starts or ends one. */
  connector: 16,
} as const;

/**
 * Readings of one label, chosen by the brand being scored. A long brand is rarely an accident, so its
 * neighbours may be any lure word; a short one needs stronger evidence.
 */
export const VIEW = {
  /** Long brands and typos: generic words count only as hyphen tokens. */
  long: 0,
  /** Short initialisms (`bbt`, `uscc`): no two-letter vowel words; generic words may be glued (`bbtplus`). */
  initialism: 1,
  /** Other short brands (`fox`, `vz`): no two-letter vowel words, generic words only as tokens. */
  short: 2,
} as const;
export type View = (typeof VIEW)[keyof typeof VIEW];

const VIEW_FLAGS: readonly { readonly excludeShortVowel: boolean; readonly genericAsToken: boolean }[] = [
  { excludeShortVowel: false, genericAsToken: true },
  { excludeShortVowel: true, genericAsToken: false },
  { excludeShortVowel: true, genericAsToken: true },
];

/** Most words that can start at one position (`account`, `accounts`, `access`...): more are dropped. */
const MAX_MATCHES = 8;

/**
 * Splits a skeleton into lure words, infrastructure words and digit runs by dynamic programming over
 * positions, so that "is everything around the brand a keyword?" is one array read. `forward[p]` is the
 * strongest reading of `compact[0, p)`, `backward[s]` that of `compact[s, n)`. Hyphens are gone from
 * the skeleton (`acme-sso-login` reads as `acmessologin`), but token-only words count only where
 * hyphens surround them: `shopifycdn.com` is the brand's own CDN, `bestbuy-cdn.com` was a phishing host.
 *
 * `segment` finds every word once per label; each view's arrays are computed on first use, so a label
 * with no brand in it costs one trie walk per position.
 */
export class KeywordSegmenter {
  private readonly words = new CharTrie<number>();
  private readonly matchEnd: Uint8Array;
  private readonly matchFlags: Uint8Array;
  private readonly matchCount: Uint8Array;
  private readonly forwards: Uint8Array[];
  private readonly backwards: Uint8Array[];
  private readonly scratch: Uint8Array;
  private computed = 0;
  private buffer: SkeletonBuffer | undefined;

  /** `words`: skeleton → WORD flags (the caller merges the flags of a word listed twice). */
  constructor(words: ReadonlyMap<string, number>, capacity = 256) {
    for (const [word, flags] of words) if (word.length > 0) this.words.add(word, flags);
    this.matchEnd = new Uint8Array((capacity + 1) * MAX_MATCHES);
    this.matchFlags = new Uint8Array((capacity + 1) * MAX_MATCHES);
    this.matchCount = new Uint8Array(capacity + 1);
    this.scratch = new Uint8Array(capacity + 1);
    this.forwards = VIEW_FLAGS.map(() => new Uint8Array(capacity + 1));
    this.backwards = VIEW_FLAGS.map(() => new Uint8Array(capacity + 1));
  }

  /** WORD flags of exactly `skeleton`, or 0. */
  flagsOf(skeleton: string): number {
    return this.words.get(skeleton) ?? 0;
  }

  /** Finds every word of the label in `buffer` (which must stay unchanged while the views are read). */
  segment(buffer: SkeletonBuffer): void {
    this.buffer = buffer;
    this.computed = 0;
    const n = buffer.length;
    const codes = buffer.codes;
    for (let p = 0; p < n; p++) {
      let count = 0;
      let node = 0;
      for (let q = p; q < n; q++) {
        node = this.words.step(node, codes[q] ?? 0);
        if (node < 0) break;
        const flags = this.words.valueAt(node);
        if (flags !== undefined && count < MAX_MATCHES) {
          this.matchEnd[p * MAX_MATCHES + count] = q + 1;
          this.matchFlags[p * MAX_MATCHES + count] = flags;
          count++;
        }
      }
      this.matchCount[p] = count;
    }
  }

  /** `forward[p]`: strongest reading of `compact[0, p)` in `view`. */
  forward(view: View): Uint8Array {
    if ((this.computed & (1 << view)) === 0) this.compute(view);
    return this.forwards[view] as Uint8Array;
  }

  /** `backward[s]`: strongest reading of `compact[s, n)` in `view`. */
  backward(view: View): Uint8Array {
    if ((this.computed & (1 << view)) === 0) this.compute(view);
    return this.backwards[view] as Uint8Array;
  }

  /** The whole label reads as lure words (with digits or infrastructure words) in `view`. */
  allLure(view: View): boolean {
    const buffer = this.buffer;
    return buffer !== undefined && this.forward(view)[buffer.length] === LURE;
  }

  /**
   * Whether a hyphen token outside `[start, end)` is made only of lure words (`acme-hr-portal`,
   * `sso-login-acme`): a lure word inside a longer token does not count (`acme-accounting`).
   */
  hasLureOutside(view: View, start: number, end: number): boolean {
    const buffer = this.buffer;
    if (buffer === undefined) return false;
    let tokenStart = 0;
    for (let k = 1; k <= buffer.length; k++) {
      if (buffer.boundary[k] !== 1) continue;
      if ((k <= start || tokenStart >= end) && this.tokenIsLure(view, tokenStart, k)) return true;
      tokenStart = k;
    }
    return false;
  }

  /** Whether `[start, end)` splits into lure words (infrastructure or digits beside them allowed). */
  private tokenIsLure(view: View, start: number, end: number): boolean {
    const reach = this.scratch;
    reach.fill(UNREACHABLE, start, end + 1);
    reach[start] = DIGITS_ONLY;
    const buffer = this.buffer as SkeletonBuffer;
    for (let p = start; p < end; p++) {
      const here = reach[p] ?? UNREACHABLE;
      if (here === UNREACHABLE) continue;
      if (buffer.digit[p] === 1 && (reach[p + 1] ?? 0) < here) reach[p + 1] = here;
      for (let m = 0; m < (this.matchCount[p] ?? 0); m++) {
        const wordEnd = this.matchEnd[p * MAX_MATCHES + m] ?? 0;
        const flags = this.matchFlags[p * MAX_MATCHES + m] ?? 0;
        if (wordEnd > end || (flags & WORD.connector) !== 0 || !this.allowed(view, p, wordEnd, flags)) continue;
        const reading = (flags & WORD.lure) !== 0 ? LURE : Math.max(here, INFRASTRUCTURE);
        if ((reach[wordEnd] ?? 0) < reading) reach[wordEnd] = reading;
      }
    }
    return reach[end] === LURE;
  }

  private allowed(view: View, start: number, end: number, flags: number): boolean {
    const { excludeShortVowel, genericAsToken } = VIEW_FLAGS[view] ?? { excludeShortVowel: true, genericAsToken: true };
    if (excludeShortVowel && (flags & WORD.shortWithVowel) !== 0) return false;
    const tokenOnly = (flags & WORD.tokenOnly) !== 0 || (genericAsToken && (flags & WORD.generic) !== 0);
    const boundary = (this.buffer as SkeletonBuffer).boundary;
    return !tokenOnly || (boundary[start] === 1 && boundary[end] === 1);
  }

  private compute(view: View): void {
    const buffer = this.buffer as SkeletonBuffer;
    const n = buffer.length;
    const forward = this.forwards[view] as Uint8Array;
    const backward = this.backwards[view] as Uint8Array;
    forward.fill(UNREACHABLE, 0, n + 1);
    backward.fill(UNREACHABLE, 0, n + 1);
    forward[0] = DIGITS_ONLY;
    for (let p = 0; p < n; p++) {
      const here = forward[p] ?? UNREACHABLE;
      if (here === UNREACHABLE) continue;
      for (let q = p; q < n && buffer.digit[q] === 1; q++) if ((forward[q + 1] ?? 0) < here) forward[q + 1] = here;
      for (let m = 0; m < (this.matchCount[p] ?? 0); m++) {
        const end = this.matchEnd[p * MAX_MATCHES + m] ?? 0;
        const flags = this.matchFlags[p * MAX_MATCHES + m] ?? 0;
        if ((flags & WORD.connector) !== 0) {
          if (here >= INFRASTRUCTURE && end < n && (forward[end] ?? 0) < here) forward[end] = here;
          continue;
        }
        if (!this.allowed(view, p, end, flags)) continue;
        const reading = (flags & WORD.lure) !== 0 ? LURE : Math.max(here, INFRASTRUCTURE);
        if ((forward[end] ?? 0) < reading) forward[end] = reading;
      }
    }
    backward[n] = DIGITS_ONLY;
    for (let s = n - 1; s >= 0; s--) {
      let best = UNREACHABLE;
      for (let q = s; q < n && buffer.digit[q] === 1; q++) best = Math.max(best, backward[q + 1] ?? UNREACHABLE);
      for (let m = 0; m < (this.matchCount[s] ?? 0); m++) {
        const end = this.matchEnd[s * MAX_MATCHES + m] ?? 0;
        const flags = this.matchFlags[s * MAX_MATCHES + m] ?? 0;
        const after = backward[end] ?? UNREACHABLE;
        if ((flags & WORD.connector) !== 0) {
          if (s > 0 && after >= INFRASTRUCTURE) best = Math.max(best, after);
          continue;
        }
        if (after === UNREACHABLE || !this.allowed(view, s, end, flags)) continue;
        best = (flags & WORD.lure) !== 0 ? LURE : Math.max(best, after, INFRASTRUCTURE);
      }
      backward[s] = best;
    }
    this.computed |= 1 << view;
  }
}
