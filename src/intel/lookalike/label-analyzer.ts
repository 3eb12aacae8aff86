import { CharTrie } from './char-trie.js';
import { SkeletonBuffer, skeletonOf } from './confusable-skeleton.js';
import { INFRASTRUCTURE, KeywordSegmenter, LURE, UNREACHABLE } from './keyword-segmenter.js';
import type { LookalikeReason, LookalikeReasonCode } from './lookalike-verdict.js';
import { type TypoVariant, typoVariants } from './typo-variants.js';

/** A brand to defend: a configured brand or the first label of a protected domain. */
export interface BrandEntry {
  /** As configured (`t-mobile`), shown in verdicts. */
  readonly name: string;
  /** Lowercase letters and digits only (`tmobile`): the form typo variants are made from. */
  readonly key: string;
  /** Suffixes under which this label is a protected domain (`com` for `acme.com`). */
  readonly protectedSuffixes: readonly string[];
  /** Matched inside longer labels too; false for short labels taken from protected domains
   * (`box.com` → `box`), which only match as a whole label (TLD swap). */
  readonly compounds: boolean;
}

export interface LabelAnalyzerOptions {
  /** Lure words: count next to a brand whether hyphenated or not. */
  readonly keywords: readonly string[];
  /** Infrastructure words: count only as separate hyphen tokens. */
  readonly infrastructureKeywords: readonly string[];
  /** `<anything>-<word>` is flagged without a brand. */
  readonly lureSuffixes: readonly string[];
  /** Brands shorter than this get no typo variants and no look-alike matching inside longer labels. */
  readonly minTypoLength: number;
  /** Score of the exact brand label under a country-code suffix. */
  readonly countryTldSwapScore: number;
}

/**
 * Country-code TLDs sold worldwide as generic names: a brand rarely has a subsidiary in Colombia or
 * Christmas Island, while phishing kits register `acme.co` and `acme.cx` for their look.
 */
const VANITY_CCTLDS = new Set([
  'ac', 'ai', 'am', 'cc', 'cf', 'co', 'cx', 'fm', 'ga', 'gg', 'gq', 'gs', 'im', 'io', 'la', 'ly', 'me',
  'ml', 'ms', 'nu', 'pw', 'sh', 'so', 'st', 'su', 'tk', 'to', 'tv', 'vc', 'vg', 'ws',
]);

/** `de`, `co.uk`, `com.br`: a namespace of one country (the last label is a non-vanity ccTLD). */
function isCountrySuffix(suffix: string): boolean {
  const last = suffix.slice(suffix.lastIndexOf('.') + 1);
  return last.length === 2 && (suffix.includes('.') || !VANITY_CCTLDS.has(last));
}

export interface LabelFinding {
  readonly score: number;
  readonly brand: BrandEntry | undefined;
  readonly reasons: LookalikeReason[];
  /** The whole label is the brand (after skeleton and without hyphens). */
  readonly whole: boolean;
}

/**
 * Scores, in one place so that the policy can be read and reviewed. A brand with lure words around it
 * is the 2022-2025 campaign pattern (`<target>-okta.com`, `<target>sso.com`) and scores highest. A
 * brand beside unknown words, or one edit away from a brand, is weaker evidence the shorter the brand
 * is: short brands occur inside ordinary words (`att` in `attention`) and one edit turns them into
 * other words (`marsh` → `mars`); brands also name their own hosts `<brand>cdn`, `<brand>-dns`.
 */
const SCORE = {
  exact: 0.9,
  exactLookalikeCharacters: 0.95,
  lureCompound: 0.9,
  infrastructureCompound: (length: number) => (length >= 5 ? 0.75 : 0.6),
  numberCompound: (length: number) => (length >= 5 ? 0.75 : 0.45),
  tokenBesideLure: 0.85,
  token: (length: number) => (length >= 5 ? 0.6 : 0.45),
  besideLure: (length: number) => (length >= 5 ? 0.72 : 0.45),
  embedded: 0.4,
  lookalikeCharactersBonus: 0.1,
  /** A bit flip or vowel swap of a short brand, or an edit of its first or last letter, beside a lure
   * word is how ordinary words arise (`keeper`+`security`, `finance`, `print`+`emps`). */
  typoWithLure: (length: number, variant: TypoVariant) =>
    (variant.edge ? variant.fatFinger && length >= 7 : variant.fatFinger || length >= 7) ? 0.9 : 0.65,
  /** Alone, or with digits or infrastructure tokens: strong only for a long brand and a fat-finger edit. */
  typoAlone: (length: number, variant: TypoVariant) =>
    !variant.edge && (length >= 9 || (length >= 7 && variant.fatFinger)) ? 0.75 : 0.6,
  typoToken: 0.55,
  lureSuffix: 0.75,
} as const;

interface TypoEntry {
  readonly brand: number;
  readonly variant: TypoVariant;
}

/** Matches one DNS label against every brand; built once per configuration, reused per query. */
export class LabelAnalyzer {
  private readonly buffer = new SkeletonBuffer(256);
  private readonly segmenter: KeywordSegmenter;
  /** Without two-letter lure words that contain a vowel (`it`, `id`, `us`): used beside short brands,
   * where `fox`+`it` or `id`+`ea` are ordinary words, while `bbt`+`hr` is not. */
  private readonly strictSegmenter: KeywordSegmenter;
  private readonly brandTrie = new CharTrie<number>();
  private readonly typos = new Map<string, TypoEntry>();
  private readonly lureSkeletons: readonly string[];
  private readonly maxTypoLength: number;

  constructor(
    private readonly brands: readonly BrandEntry[],
    private readonly options: LabelAnalyzerOptions,
  ) {
    // Long brands count as lure words beside other brands: `pennkey-upenn`, `livechat-salesforce`.
    const longBrands = brands.filter((b) => b.key.length >= options.minTypoLength).map((b) => b.key);
    const lure = [...options.keywords, ...longBrands];
    const infrastructure = options.infrastructureKeywords.map(skeletonOf);
    this.segmenter = new KeywordSegmenter(lure.map(skeletonOf), infrastructure);
    const strict = lure.filter((word) => word.length > 2 || !/[aeiouy]/.test(word));
    this.strictSegmenter = new KeywordSegmenter(strict.map(skeletonOf), infrastructure);
    this.lureSkeletons = options.lureSuffixes.map(skeletonOf);
    brands.forEach((brand, index) => this.brandTrie.add(skeletonOf(brand.key), index));
    let maxTypoLength = 0;
    brands.forEach((brand, index) => {
      if (brand.key.length < options.minTypoLength) return;
      const anyCharacter = brand.key.length >= 7;
      for (const [text, variant] of typoVariants(brand.key, { anyCharacter })) {
        const skeleton = skeletonOf(text);
        // A variant that is another brand or a keyword would make that name a "typo" of this brand.
        if (this.brandTrie.get(skeleton) !== undefined || this.segmenter.isKeyword(skeleton)) continue;
        // Typos of one brand that are lure words made of another: skip, the lure reading wins.
        // Two edits can share a skeleton (`tmobie`: `l` dropped, or `i` dropped then `i`→`l`): keep the likelier.
        const known = this.typos.get(skeleton);
        if (known === undefined || (!known.variant.fatFinger && variant.fatFinger)) this.typos.set(skeleton, { brand: index, variant });
        maxTypoLength = Math.max(maxTypoLength, skeleton.length);
      }
    });
    this.maxTypoLength = maxTypoLength;
  }

  /** Number of precomputed typo variants (reported by the benchmark). */
  get typoVariantCount(): number {
    return this.typos.size;
  }

  /** Whether the last analysed label was made only of lure keywords (`login-portal`). */
  lastWasAllKeywords = false;

  /**
   * Analyses one lowercase label (Unicode allowed). `suffix` is the public suffix, for TLD-swap
   * reasons; pass undefined for subdomain labels. Returns undefined when nothing resembles a brand.
   */
  analyze(label: string, suffix: string | undefined): LabelFinding | undefined {
    const buffer = this.buffer;
    this.lastWasAllKeywords = false;
    if (!buffer.fill(label) || buffer.length === 0) return undefined;
    const n = buffer.length;
    this.segmenter.segment(buffer);
    this.strictSegmenter.segment(buffer);
    const { forward } = this.segmenter;
    this.lastWasAllKeywords = forward[n] === LURE;

    // Exact brand occurrences (skeleton), walked from every start position through the brand trie.
    let best = 0;
    let bestBrand = -1;
    let bestStart = 0;
    let bestEnd = 0;
    let bestCode: LookalikeReasonCode = 'brand_embedded';
    const scored: [number, LookalikeReasonCode] = [0, 'brand_embedded'];
    for (let i = 0; i < n; i++) {
      let node = this.brandTrie.root.children.get(buffer.compact.charCodeAt(i));
      for (let j = i + 1; node !== undefined; j++) {
        if (node.value !== undefined) {
          this.scoreOccurrence(node.value, i, j, n, label, scored);
          if (scored[0] > best) [best, bestBrand, bestStart, bestEnd, bestCode] = [scored[0], node.value, i, j, scored[1]];
        }
        if (j >= n) break;
        node = node.children.get(buffer.compact.charCodeAt(j));
      }
    }
    let finding = bestBrand >= 0 ? this.occurrenceFinding(bestBrand, bestStart, bestEnd, n, bestCode, best, label, suffix) : undefined;

    const typo = this.findTypo(n, label);
    if (typo !== undefined && typo.score > (finding?.score ?? 0)) finding = typo;

    const lure = this.lureSuffix(n, label);
    if (lure !== undefined && finding === undefined) finding = lure;
    else if (lure !== undefined && finding !== undefined) {
      finding.reasons.push(...lure.reasons);
      if (lure.score > finding.score) finding = { ...finding, score: lure.score };
    }
    return finding;
  }

  /** Scores the brand occurrence at compact[i, j) into `out` (reused: no allocation per occurrence). */
  private scoreOccurrence(brandIndex: number, i: number, j: number, n: number, label: string, out: [number, LookalikeReasonCode]): void {
    const brand = this.brands[brandIndex] as BrandEntry;
    const length = brand.key.length;
    const short = length < this.options.minTypoLength;
    const segmenter = short ? this.strictSegmenter : this.segmenter;
    const { forward, backward } = segmenter;
    const lookalike = this.rawDiffers(brand, i, j, label);
    const whole = i === 0 && j === n;
    if (whole) {
      out[0] = lookalike ? SCORE.exactLookalikeCharacters : SCORE.exact;
      out[1] = 'brand_exact';
      return;
    }
    const left = forward[i] ?? UNREACHABLE;
    const right = backward[j] ?? UNREACHABLE;
    const boundary = this.buffer.boundary;
    const token = boundary[i] === 1 && boundary[j] === 1;
    const lureAround = left !== UNREACHABLE && right !== UNREACHABLE && Math.max(left, right) === LURE;
    if (!brand.compounds || (lookalike && short && !token && !lureAround)) {
      // `o2` in `021`, `cgi` in `cg1`: look-alike letters of a short brand inside a longer word are noise.
      out[0] = 0;
      return;
    }
    let score: number;
    let code: LookalikeReasonCode;
    if (left !== UNREACHABLE && right !== UNREACHABLE) {
      const strongest = Math.max(left, right);
      if (strongest === LURE) [score, code] = [SCORE.lureCompound, 'brand_keyword_compound'];
      else if (strongest === INFRASTRUCTURE) [score, code] = [SCORE.infrastructureCompound(length), 'brand_keyword_compound'];
      else [score, code] = [SCORE.numberCompound(length), 'brand_number_compound'];
    } else if (token) {
      if (segmenter.hasLureOutside(this.buffer, i, j)) [score, code] = [SCORE.tokenBesideLure, 'brand_keyword_compound'];
      else [score, code] = [SCORE.token(length), 'brand_token'];
    } else if (lookalike) {
      // Look-alike letters half inside another word (`globalcloud` → `icloud`) are coincidence.
      out[0] = 0;
      return;
    } else if (left === LURE || right === LURE) {
      [score, code] = [SCORE.besideLure(length), 'brand_keyword_compound'];
    } else {
      [score, code] = [SCORE.embedded, 'brand_embedded'];
    }
    out[0] = Math.min(1, score + (lookalike ? SCORE.lookalikeCharactersBonus : 0));
    out[1] = code;
  }

  /** Whether the input characters behind compact[i, j) differ from the brand (look-alike letters). */
  private rawDiffers(brand: BrandEntry, i: number, j: number, label: string): boolean {
    const start = this.buffer.source[i] ?? 0;
    const end = this.buffer.source[j] ?? label.length;
    let k = 0;
    for (let p = start; p < end; p++) {
      const c = label.charCodeAt(p);
      if (c === 0x2d || c === 0x5f) continue;
      if (c !== brand.key.charCodeAt(k)) return true;
      k++;
    }
    return k !== brand.key.length;
  }

  private hyphenated(i: number, j: number): boolean {
    for (let k = i + 1; k < j; k++) if (this.buffer.boundary[k] === 1) return true;
    return false;
  }

  private occurrenceFinding(
    brandIndex: number,
    i: number,
    j: number,
    n: number,
    code: LookalikeReasonCode,
    score: number,
    label: string,
    suffix: string | undefined,
  ): LabelFinding {
    const brand = this.brands[brandIndex] as BrandEntry;
    const reasons: LookalikeReason[] = [];
    const whole = i === 0 && j === n;
    if (whole && suffix !== undefined && score === SCORE.exact && isCountrySuffix(suffix)) {
      score = this.options.countryTldSwapScore;
    }
    if (whole && suffix !== undefined && brand.protectedSuffixes.length > 0) {
      const real = brand.protectedSuffixes.map((s) => `${brand.key}.${s}`).join(', ');
      reasons.push({ code: 'tld_swap', detail: `"${label}.${suffix}" reuses the label of ${real} under another suffix` });
    } else if (whole) {
      reasons.push({ code: 'brand_exact', detail: `label "${label}" is the brand "${brand.name}"` });
    } else {
      reasons.push({ code, detail: `label "${label}" contains the brand "${brand.name}" (${describe(code)})` });
    }
    if (this.hyphenated(i, j) && !brand.name.includes('-')) {
      reasons.push({ code: 'typo_hyphenation', detail: `"${label}" splits the brand "${brand.name}" with hyphens` });
    }
    if (this.rawDiffers(brand, i, j, label)) {
      const unicode = this.buffer.nonAscii;
      reasons.push({
        code: unicode ? 'confusable_unicode' : 'homoglyph',
        detail: `"${label}" renders like "${brand.key}" (${unicode ? 'non-ASCII look-alike characters' : 'look-alike ASCII characters'})`,
      });
    }
    return { score, brand, reasons, whole };
  }

  /** One-edit typos of a brand, alone or between lure words / digits, or as a whole hyphen token. */
  private findTypo(n: number, label: string): LabelFinding | undefined {
    if (this.typos.size === 0) return undefined;
    const { forward, backward } = this.segmenter;
    const boundary = this.buffer.boundary;
    let best: LabelFinding | undefined;
    for (let p = 0; p < n; p++) {
      const leftAffix = forward[p] !== UNREACHABLE;
      if (!leftAffix && boundary[p] !== 1) continue;
      for (let s = n; s - p >= 2; s--) {
        if (s - p > this.maxTypoLength) continue;
        const rightAffix = backward[s] !== UNREACHABLE;
        if (!rightAffix && boundary[s] !== 1) continue;
        const entry = this.typos.get(this.buffer.compact.slice(p, s));
        if (entry === undefined) continue;
        const brand = this.brands[entry.brand] as BrandEntry;
        const { variant } = entry;
        const affixes = leftAffix && rightAffix;
        const withLure = forward[p] === LURE || backward[s] === LURE || this.segmenter.hasLureOutside(this.buffer, p, s);
        const score = withLure
          ? SCORE.typoWithLure(brand.key.length, variant)
          : affixes
            ? SCORE.typoAlone(brand.key.length, variant)
            : SCORE.typoToken;
        if (best !== undefined && best.score >= score) continue;
        const what = variant.typo.slice(5).replace('_', ' ');
        const reasons: LookalikeReason[] = [{ code: variant.typo, detail: `"${label}" is one ${what} away from "${brand.key}"` }];
        if (withLure) reasons.push({ code: 'brand_keyword_compound', detail: `the typo of "${brand.name}" is combined with lure words` });
        if (this.buffer.nonAscii) reasons.push({ code: 'confusable_unicode', detail: `"${label}" has non-ASCII look-alike characters` });
        best = { score, brand, reasons, whole: p === 0 && s === n };
      }
    }
    return best;
  }

  /**
   * `<anything>-okta`, `<anything>sso`: a lure suffix as the last hyphen token, or glued to a word when
   * that cannot be an ordinary word ending (`sso` after a consonant: Romance words end in `-esso`,
   * `-osso`, `-asso`), or a label made only of lure words that includes one.
   */
  private lureSuffix(n: number, label: string): LabelFinding | undefined {
    const compact = this.buffer.compact;
    for (const word of this.lureSkeletons) {
      const at = n - word.length;
      if (at <= 0 || !compact.endsWith(word)) {
        if (!(this.lastWasAllKeywords && n > word.length && compact.includes(word))) continue;
      } else if (this.buffer.boundary[at] !== 1 && !this.lastWasAllKeywords && !gluedSuffixIsSeparate(compact, at, word)) {
        continue;
      }
      const detail = `"${label}" pairs the sign-in word "${word}" with another word`;
      return { score: SCORE.lureSuffix, brand: undefined, reasons: [{ code: 'lure_keyword_suffix', detail }], whole: false };
    }
    return undefined;
  }
}

/** Identity-provider names that end no ordinary word, so `acmeokta` reads as `acme`+`okta`. */
const GLUED_SUFFIXES = new Set(['okta', 'onelogin', 'adfs', 'saml'].map(skeletonOf));

/**
 * `costsso`, `hubsso` read as `cost`+`sso`; `acesso`, `nespresso` do not (Romance words end in a vowel
 * and `-sso`). `askmehelpdesk` is an ordinary compound: help-desk words only count after a hyphen.
 */
function gluedSuffixIsSeparate(compact: string, at: number, word: string): boolean {
  if (GLUED_SUFFIXES.has(word)) return true;
  if (word !== 'sso') return false;
  const before = compact.charCodeAt(at - 1);
  const vowel = before === 0x61 || before === 0x65 || before === 0x6f || before === 0x75 || before === 0x6c || before === 0x79;
  return !vowel && before !== word.charCodeAt(0);
}

function describe(code: LookalikeReasonCode): string {
  switch (code) {
    case 'brand_keyword_compound':
      return 'with lure words';
    case 'brand_number_compound':
      return 'with digits';
    case 'brand_token':
      return 'as a hyphen-separated token';
    default:
      return 'inside a longer word';
  }
}

