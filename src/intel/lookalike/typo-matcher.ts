import { type SkeletonBuffer, skeletonOf } from './confusable-skeleton.js';
import { type KeywordSegmenter, LURE, UNREACHABLE, VIEW } from './keyword-segmenter.js';
import type { BrandEntry, LabelFinding } from './label-analyzer.js';
import { SCORE } from './lookalike-scores.js';
import type { LookalikeReason } from './lookalike-verdict.js';
import { type TypoVariant, typoVariants } from './typo-variants.js';

interface TypoEntry {
  readonly brand: number;
  readonly variant: TypoVariant;
  /** The variants as typed that share this skeleton: input that differs from all used look-alike characters. */
  readonly texts: string[];
}

/**
 * One-edit typo variants of every brand of `minTypoLength`+ characters, precomputed by skeleton, and
 * their lookup in a label. A hash of each candidate substring, computed as the substring grows, is
 * checked in a bit filter first, so that most labels build no substring at all.
 */
export class TypoMatcher {
  private readonly typos = new Map<string, TypoEntry>();
  private readonly filter = new HashFilter(21);
  private readonly maxTypoLength: number;
  /** Per brand, per hyphenated spelling: where it has hyphens, as offsets into the key (`t-mobile` → [1]). */
  private readonly hyphens: readonly (readonly (readonly number[])[])[];

  /** `isTaken(skeleton)`: the variant is another brand or a keyword, so not a typo of this brand. */
  constructor(
    private readonly brands: readonly BrandEntry[],
    minTypoLength: number,
    isTaken: (skeleton: string) => boolean,
  ) {
    let maxTypoLength = 0;
    this.hyphens = brands.map((brand) => brand.hyphenated.map(hyphenOffsets));
    brands.forEach((brand, index) => {
      if (brand.key.length < minTypoLength || brand.partial) return;
      const anyCharacter = brand.key.length >= 7;
      for (const [text, variant] of typoVariants(brand.key, { anyCharacter })) {
        const skeleton = skeletonOf(text);
        if (isTaken(skeleton)) continue;
        // Two edits can share a skeleton (`tmobie`: `l` dropped, or `i` dropped then `i`→`l`): keep the likelier.
        const known = this.typos.get(skeleton);
        if (known === undefined || (!known.variant.fatFinger && variant.fatFinger)) {
          this.typos.set(skeleton, { brand: index, variant, texts: [...(known?.texts ?? []), text] });
        } else known.texts.push(text);
        this.filter.add(skeletonHash(skeleton));
        maxTypoLength = Math.max(maxTypoLength, skeleton.length);
      }
    });
    this.maxTypoLength = maxTypoLength;
  }

  /**
   * The brand's hyphenated spelling whose hyphens sit where those inside compact[p, s) do (`7-elevn`,
   * `wal-mrt` for `7-eleven`, `wal-mart`), counted from the start or, when the edit came before the
   * hyphen, from the end: the brand's written form imitated, which no ordinary word shares.
   */
  private keptHyphenatedSpelling(brandIndex: number, buffer: SkeletonBuffer, p: number, s: number): string | undefined {
    const brand = this.brands[brandIndex] as BrandEntry;
    const keyLength = brand.key.length;
    const spellings = this.hyphens[brandIndex] ?? [];
    for (let at = 0; at < spellings.length; at++) {
      const hyphens = spellings[at] as readonly number[];
      let found = 0;
      for (let k = p + 1; k < s && found >= 0; k++) {
        if (buffer.boundary[k] !== 1) continue;
        const h = hyphens[found];
        found = h === undefined || (k - p !== h && s - k !== keyLength - h) ? -1 : found + 1;
      }
      if (found === hyphens.length) return brand.hyphenated[at];
    }
    return undefined;
  }

  /** Number of precomputed typo variants. */
  get size(): number {
    return this.typos.size;
  }

  /**
   * The best one-edit typo of a brand in the label held by `buffer` (segmented by `segmenter`): alone,
   * between lure words or digits, or as a whole hyphen token.
   */
  find(buffer: SkeletonBuffer, segmenter: KeywordSegmenter, label: string): LabelFinding | undefined {
    const n = buffer.length;
    if (this.typos.size === 0) return undefined;
    const forward = segmenter.forward(VIEW.long);
    const backward = segmenter.backward(VIEW.long);
    const { boundary, codes } = buffer;
    let best: LabelFinding | undefined;
    let bestStart = -1;
    for (let p = 0; p < n; p++) {
      const leftAffix = forward[p] !== UNREACHABLE;
      if (!leftAffix && boundary[p] !== 1) continue;
      let hash = 0;
      const limit = Math.min(n, p + this.maxTypoLength);
      for (let s = p + 1; s <= limit; s++) {
        hash = (Math.imul(hash, 31) + (codes[s - 1] ?? 0)) | 0;
        const rightAffix = backward[s] !== UNREACHABLE;
        if (s - p < 2 || (!rightAffix && boundary[s] !== 1) || !this.filter.has(hash)) continue;
        const entry = this.typos.get(buffer.compact.slice(p, s));
        if (entry === undefined) continue;
        const brand = this.brands[entry.brand] as BrandEntry;
        const { variant } = entry;
        const length = brand.key.length;
        const withLure = forward[p] === LURE || backward[s] === LURE || segmenter.hasLureOutside(VIEW.long, p, s);
        // A typo and look-alike letters (`quaifone`: `qualfon` + `e`, with `i` for `l`) are two edits made to
        // pass for the brand; only for long brands, where a second edit rarely lands on a real name.
        const lookalike = length >= 7 && usesLookalikeLetters(buffer, entry.texts, p, s, label);
        const base = withLure
          ? SCORE.typoWithLure(length, variant)
          : leftAffix && rightAffix
            ? SCORE.typoAlone(length, variant)
            : SCORE.typoToken(length, variant);
        const keptSpelling = variant.edge ? undefined : this.keptHyphenatedSpelling(entry.brand, buffer, p, s);
        const floor = keptSpelling === undefined ? 0 : SCORE.typoKeepingHyphens;
        const score = Math.min(1, Math.max(base, floor) + (lookalike ? SCORE.lookalikeCharactersBonus : 0));
        // Ties go to the earliest start, then to the longest variant.
        if (best !== undefined && (best.score > score || (best.score === score && bestStart !== p))) continue;
        bestStart = p;
        const what = variant.typo.slice(5).replace('_', ' ');
        const reasons: LookalikeReason[] = [{ code: variant.typo, detail: `"${label}" is one ${what} away from "${brand.key}"` }];
        if (withLure) reasons.push({ code: 'brand_keyword_compound', detail: `the typo of "${brand.name}" is combined with lure words` });
        if (keptSpelling !== undefined) reasons.push({ code: 'typo_hyphenation', detail: `the typo keeps the hyphens of "${keptSpelling}"` });
        if (buffer.nonAscii) reasons.push({ code: 'confusable_unicode', detail: `"${label}" has non-ASCII look-alike characters` });
        else if (lookalike) reasons.push({ code: 'homoglyph', detail: `"${label}" also uses ASCII look-alike characters` });
        best = { score, brand, reasons, whole: p === 0 && s === n };
      }
    }
    return best;
  }
}

/** Offsets into the hyphenless key before which `name` has a hyphen (`7-eleven` → [1]). */
function hyphenOffsets(name: string): number[] {
  const offsets: number[] = [];
  let letters = 0;
  for (const c of name) {
    if (c === '-') offsets.push(letters);
    else letters++;
  }
  return offsets;
}

/** Whether the input behind compact[p, s) is none of `texts` and its look-alikes are letters, not digits. */
function usesLookalikeLetters(buffer: SkeletonBuffer, texts: readonly string[], p: number, s: number, label: string): boolean {
  for (let k = p; k < s; k++) if (buffer.digit[k] === 1) return false;
  for (const text of texts) if (!buffer.sourceDiffers(text, p, s, label)) return false;
  return true;
}

/** The hash `findTypo` computes incrementally over a substring of the skeleton. */
function skeletonHash(skeleton: string): number {
  let hash = 0;
  for (let k = 0; k < skeleton.length; k++) hash = (Math.imul(hash, 31) + skeleton.charCodeAt(k)) | 0;
  return hash;
}

/** A one-hash Bloom filter over 32-bit hashes: `has` may say yes wrongly, never no wrongly. */
class HashFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;

  constructor(log2Bits: number) {
    this.bits = new Uint32Array(1 << (log2Bits - 5));
    this.mask = (1 << log2Bits) - 1;
  }

  add(hash: number): void {
    const bit = (hash ^ (hash >>> 15)) & this.mask;
    this.bits[bit >>> 5] = (this.bits[bit >>> 5] ?? 0) | (1 << (bit & 31));
  }

  has(hash: number): boolean {
    const bit = (hash ^ (hash >>> 15)) & this.mask;
    return ((this.bits[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0;
  }
}
