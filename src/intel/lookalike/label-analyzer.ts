import { CharTrie } from './char-trie.js';
import { SkeletonBuffer, skeletonOf } from './confusable-skeleton.js';
import { INFRASTRUCTURE, KeywordSegmenter, LURE, UNREACHABLE, VIEW, type View, WORD } from './keyword-segmenter.js';
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
  /** Generic lure words: glued, only beside short initialisms (`bbtplus`); else as hyphen tokens. */
  readonly genericKeywords: readonly string[];
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
  readonly reasons: readonly LookalikeReason[];
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
  besideLure: (length: number) => (length >= 5 ? 0.65 : 0.45),
  embedded: 0.4,
  lookalikeCharactersBonus: 0.1,
  /** A bit flip or vowel swap of a short brand, or an edit of its first or last letter, beside a lure
   * word is how ordinary words arise (`keeper`+`security`, `finance`, `print`+`emps`). */
  typoWithLure: (length: number, variant: TypoVariant) =>
    (variant.edge ? variant.fatFinger && length >= 7 : variant.fatFinger || length >= 7) ? 0.9 : 0.65,
  /** Alone, or with digits or infrastructure tokens: strong only for a long brand and a fat-finger edit. */
  typoAlone: (length: number, variant: TypoVariant) =>
    !variant.edge && (length >= 9 || (length >= 7 && variant.fatFinger)) ? 0.75 : 0.6,
  /** A typo as a hyphen token beside unknown words: only a long brand's inner edit is still telling
   * (`gryscale-ox0d`), since such a variant of a 9+ letter brand is rarely a word of its own. */
  typoToken: (length: number, variant: TypoVariant) => (!variant.edge && length >= 9 ? 0.7 : 0.55),
  lureSuffix: 0.75,
} as const;

interface TypoEntry {
  readonly brand: number;
  readonly variant: TypoVariant;
  /** The variants as typed that share this skeleton: input that differs from all used look-alike characters. */
  readonly texts: string[];
}

/**
 * Hyphen tokens that spell a domain inside a label (`com-acme-login.net`, `www-acme.co`): the dot of
 * `acme.com` replaced by a hyphen, a long-standing phishing-kit trick.
 */
const DOMAIN_SPELLING_TOKENS = ['com', 'www'];

/** Shortest brand that counts as a lure word beside another brand. */
const BRAND_AS_LURE_LENGTH = 7;

/**
 * 3+ characters with no vowel or with three consonants in a row (`bbt`, `pnc`, `uscc`): an initialism,
 * which cannot be read as a word and which ordinary words rarely contain (unlike `fox` or `vz`).
 */
function isInitialism(key: string): boolean {
  return key.length >= 3 && (!/[aeiouy]/.test(key) || /[^aeiouy0-9]{3}/.test(key));
}

/** Matches one DNS label against every brand; built once per configuration, reused per query. */
export class LabelAnalyzer {
  private readonly buffer = new SkeletonBuffer(256);
  private readonly segmenter: KeywordSegmenter;
  private readonly brandTrie = new CharTrie<number>();
  /** Segmenter view per brand (long, initialism, short). */
  private readonly brandViews: readonly View[];
  private readonly typos = new Map<string, TypoEntry>();
  /** Hashes of every typo skeleton: most substrings are rejected without building a string. */
  private readonly typoFilter = new HashFilter(21);
  private readonly lureSkeletons: readonly string[];
  private readonly gluedSuffixes = new Set(GLUED_SUFFIXES.map(skeletonOf));
  private readonly maxTypoLength: number;

  constructor(
    private readonly brands: readonly BrandEntry[],
    private readonly options: LabelAnalyzerOptions,
  ) {
    this.segmenter = new KeywordSegmenter(wordFlags(brands, options));
    this.brandViews = brands.map((b) =>
      b.key.length >= options.minTypoLength ? VIEW.long : isInitialism(b.key) ? VIEW.initialism : VIEW.short,
    );
    this.lureSkeletons = options.lureSuffixes.map(skeletonOf);
    brands.forEach((brand, index) => this.brandTrie.add(skeletonOf(brand.key), index));
    let maxTypoLength = 0;
    brands.forEach((brand, index) => {
      if (brand.key.length < options.minTypoLength) return;
      const anyCharacter = brand.key.length >= 7;
      for (const [text, variant] of typoVariants(brand.key, { anyCharacter })) {
        const skeleton = skeletonOf(text);
        // A variant that is another brand or a keyword would make that name a "typo" of this brand.
        if (this.brandTrie.get(skeleton) !== undefined || this.segmenter.flagsOf(skeleton) !== 0) continue;
        // Two edits can share a skeleton (`tmobie`: `l` dropped, or `i` dropped then `i`→`l`): keep the likelier.
        const known = this.typos.get(skeleton);
        if (known === undefined || (!known.variant.fatFinger && variant.fatFinger)) {
          this.typos.set(skeleton, { brand: index, variant, texts: [...(known?.texts ?? []), text] });
        } else known.texts.push(text);
        this.typoFilter.add(skeletonHash(skeleton));
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
    this.lastWasAllKeywords = this.segmenter.allLure(VIEW.long);

    // Exact brand occurrences (skeleton), walked from every start position through the brand trie.
    let best = 0;
    let bestBrand = -1;
    let bestStart = 0;
    let bestEnd = 0;
    let bestCode: LookalikeReasonCode = 'brand_embedded';
    const codes = buffer.codes;
    for (let i = 0; i < n; i++) {
      let node = 0;
      for (let j = i; j < n; j++) {
        node = this.brandTrie.step(node, codes[j] ?? 0);
        if (node < 0) break;
        const brand = this.brandTrie.valueAt(node);
        if (brand === undefined) continue;
        const score = this.scoreOccurrence(brand, i, j + 1, n, label);
        if (score > best) [best, bestBrand, bestStart, bestEnd, bestCode] = [score, brand, i, j + 1, this.scoredCode];
      }
    }
    let finding = bestBrand >= 0 ? this.occurrenceFinding(bestBrand, bestStart, bestEnd, n, bestCode, best, label, suffix) : undefined;

    const typo = this.findTypo(n, label);
    if (typo !== undefined && typo.score > (finding?.score ?? 0)) finding = typo;

    const lure = this.lureSuffix(n, label);
    if (lure !== undefined && finding === undefined) finding = lure;
    else if (lure !== undefined && finding !== undefined) {
      finding = { ...finding, score: Math.max(finding.score, lure.score), reasons: [...finding.reasons, ...lure.reasons] };
    }
    return finding;
  }

  /** Reason code of the last `scoreOccurrence` (a field, so that scoring allocates nothing). */
  private scoredCode: LookalikeReasonCode = 'brand_embedded';

  /** Scores the brand occurrence at compact[i, j); sets `scoredCode`. */
  private scoreOccurrence(brandIndex: number, i: number, j: number, n: number, label: string): number {
    const brand = this.brands[brandIndex] as BrandEntry;
    const length = brand.key.length;
    const view = this.brandViews[brandIndex] ?? VIEW.short;
    const short = view !== VIEW.long;
    const lookalike = this.rawDiffers(brand, i, j, label);
    const boundary = this.buffer.boundary;
    // `e-volution`, `i-sprint`: a hyphen after one leading letter is the e-/i-/m- naming habit, not a
    // brand split to evade matching (a brand spelled with that hyphen, `t-mobile`, is not split).
    if (i === 0 && j > 1 && boundary[1] === 1 && brand.name.charCodeAt(1) !== 0x2d) return 0;
    const whole = i === 0 && j === n;
    if (whole) {
      this.scoredCode = 'brand_exact';
      return lookalike ? SCORE.exactLookalikeCharacters : SCORE.exact;
    }
    const left = this.segmenter.forward(view)[i] ?? UNREACHABLE;
    const right = this.segmenter.backward(view)[j] ?? UNREACHABLE;
    const token = boundary[i] === 1 && boundary[j] === 1;
    const lureAround = left !== UNREACHABLE && right !== UNREACHABLE && Math.max(left, right) === LURE;
    // `o2` in `021`, `cgi` in `cg1`: look-alike letters of a short brand inside a longer word are noise.
    if (!brand.compounds || (lookalike && short && !token && !lureAround)) return 0;
    let score: number;
    if (left !== UNREACHABLE && right !== UNREACHABLE) {
      const strongest = Math.max(left, right);
      if (strongest === LURE) [score, this.scoredCode] = [SCORE.lureCompound, 'brand_keyword_compound'];
      else if (strongest === INFRASTRUCTURE) [score, this.scoredCode] = [SCORE.infrastructureCompound(length), 'brand_keyword_compound'];
      else [score, this.scoredCode] = [SCORE.numberCompound(length), 'brand_number_compound'];
    } else if (token) {
      if (this.segmenter.hasLureOutside(view, i, j)) [score, this.scoredCode] = [SCORE.tokenBesideLure, 'brand_keyword_compound'];
      else [score, this.scoredCode] = [SCORE.token(length), 'brand_token'];
    } else if (lookalike) {
      // Look-alike letters half inside another word (`globalcloud` → `icloud`) are coincidence.
      return 0;
    } else if (left === LURE || right === LURE) {
      // `servicenow-infosysapps`: the brand's own host style (`<brand>apps`) behind a lure token.
      const hostStyle = left === LURE ? this.gluedInfrastructureAfter(j) : this.gluedInfrastructureBefore(i);
      [score, this.scoredCode] = [hostStyle ? SCORE.tokenBesideLure : SCORE.besideLure(length), 'brand_keyword_compound'];
    } else {
      [score, this.scoredCode] = [SCORE.embedded, 'brand_embedded'];
    }
    return Math.min(1, score + (lookalike ? SCORE.lookalikeCharactersBonus : 0));
  }

  /** Whether compact[j, end of its token) is one infrastructure word glued to what precedes it. */
  private gluedInfrastructureAfter(j: number): boolean {
    let end = j + 1;
    while (end < this.buffer.length && this.buffer.boundary[end] !== 1) end++;
    return this.isInfrastructureWord(j, end);
  }

  /** Whether compact[start of its token, i) is one infrastructure word glued to what follows it. */
  private gluedInfrastructureBefore(i: number): boolean {
    let start = i - 1;
    while (start > 0 && this.buffer.boundary[start] !== 1) start--;
    return this.isInfrastructureWord(start, i);
  }

  private isInfrastructureWord(start: number, end: number): boolean {
    const flags = this.segmenter.flagsOf(this.buffer.compact.slice(start, end));
    return (flags & WORD.tokenOnly) !== 0 && (flags & WORD.lure) === 0;
  }

  /** Whether the input characters behind compact[i, j) differ from the brand (look-alike letters). */
  private rawDiffers(brand: BrandEntry, i: number, j: number, label: string): boolean {
    return this.rawDiffersFrom(brand.key, i, j, label);
  }

  /** Whether the input behind compact[p, s) is none of `texts` and its look-alikes are letters, not digits. */
  private usesLookalikeLetters(texts: readonly string[], p: number, s: number, label: string): boolean {
    for (let k = p; k < s; k++) if (this.buffer.digit[k] === 1) return false;
    for (const text of texts) if (!this.rawDiffersFrom(text, p, s, label)) return false;
    return true;
  }

  /** Whether the input characters behind compact[i, j), hyphens aside, differ from `text`. */
  private rawDiffersFrom(text: string, i: number, j: number, label: string): boolean {
    const start = this.buffer.source[i] ?? 0;
    const end = this.buffer.source[j] ?? label.length;
    let k = 0;
    for (let p = start; p < end; p++) {
      const c = label.charCodeAt(p);
      if (c === 0x2d || c === 0x5f) continue;
      if (c !== text.charCodeAt(k)) return true;
      k++;
    }
    return k !== text.length;
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
    const forward = this.segmenter.forward(VIEW.long);
    const backward = this.segmenter.backward(VIEW.long);
    const { boundary, codes } = this.buffer;
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
        if (s - p < 2 || (!rightAffix && boundary[s] !== 1) || !this.typoFilter.has(hash)) continue;
        const entry = this.typos.get(this.buffer.compact.slice(p, s));
        if (entry === undefined) continue;
        const brand = this.brands[entry.brand] as BrandEntry;
        const { variant } = entry;
        const length = brand.key.length;
        const withLure = forward[p] === LURE || backward[s] === LURE || this.segmenter.hasLureOutside(VIEW.long, p, s);
        // A typo and look-alike letters (`quaifone`: `qualfon` + `e`, with `i` for `l`) are two edits made to
        // pass for the brand; only for long brands, where a second edit rarely lands on a real name.
        const lookalike = length >= 7 && this.usesLookalikeLetters(entry.texts, p, s, label);
        const base = withLure
          ? SCORE.typoWithLure(length, variant)
          : leftAffix && rightAffix
            ? SCORE.typoAlone(length, variant)
            : SCORE.typoToken(length, variant);
        const score = Math.min(1, base + (lookalike ? SCORE.lookalikeCharactersBonus : 0));
        // Ties go to the earliest start, then to the longest variant.
        if (best !== undefined && (best.score > score || (best.score === score && bestStart !== p))) continue;
        bestStart = p;
        const what = variant.typo.slice(5).replace('_', ' ');
        const reasons: LookalikeReason[] = [{ code: variant.typo, detail: `"${label}" is one ${what} away from "${brand.key}"` }];
        if (withLure) reasons.push({ code: 'brand_keyword_compound', detail: `the typo of "${brand.name}" is combined with lure words` });
        if (lookalike) {
          const unicode = this.buffer.nonAscii;
          reasons.push({
            code: unicode ? 'confusable_unicode' : 'homoglyph',
            detail: `"${label}" also uses ${unicode ? 'non-ASCII' : 'ASCII'} look-alike characters`,
          });
        }
        best = { score, brand, reasons, whole: p === 0 && s === n };
      }
    }
    return best;
  }

  /**
   * `<anything>-okta`, `<anything>sso`, `sso-<anything>`: a lure suffix as the last hyphen token, or as
   * the first one before 3+ more letters (`sso-att`, not `sso-fh`), or glued at the end when that cannot
   * be an ordinary word ending (`sso` after a consonant: Romance words end in `-esso`, `-osso`,
   * `-asso`), or a label made only of lure words that includes one.
   */
  private lureSuffix(n: number, label: string): LabelFinding | undefined {
    const buffer = this.buffer;
    for (const word of this.lureSkeletons) {
      const at = n - word.length;
      const suffix = at > 0 && buffer.endsWith(word);
      if (suffix) {
        if (buffer.boundary[at] !== 1 && !this.lastWasAllKeywords && !this.gluedSuffixes.has(word) && !(word === 'sso' && ssoIsSeparate(buffer.codes, at))) {
          continue;
        }
      } else if (!(at >= 3 && buffer.boundary[word.length] === 1 && buffer.startsWith(word))) {
        if (!(this.lastWasAllKeywords && n > word.length && buffer.compact.includes(word))) continue;
      }
      const detail = `"${label}" pairs the sign-in word "${word}" with another word`;
      return { score: SCORE.lureSuffix, brand: undefined, reasons: [{ code: 'lure_keyword_suffix', detail }], whole: false };
    }
    return undefined;
  }
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

/** Identity-provider names that end no ordinary word, so `acmeokta` reads as `acme`+`okta`. */
const GLUED_SUFFIXES = ['okta', 'onelogin', 'adfs', 'saml'];

/**
 * `costsso`, `hubsso` read as `cost`+`sso`; `acesso`, `nespresso`, `progresso`, `stesso` do not
 * (Romance words end in `-esso` after `c`, `d`, `m`, `n`, `s`, or after `pr`/`gr`/`st`). English
 * compounds end their first word in a silent `e` after a vowel and `r`, `t` or `v` (`icare`+`sso`,
 * `stargate`+`sso`, `active`+`sso`): that reading is kept for a first word of 5+ letters (the skeleton
 * writes `i` as `l`, so `l` stands for a vowel too). `askmehelpdesk` is an ordinary compound: help-desk
 * words only count after a hyphen.
 */
function ssoIsSeparate(codes: Uint16Array, at: number): boolean {
  const before = codes[at - 1] ?? 0;
  if (before === 0x65 && at >= 5) {
    const consonant = codes[at - 2] ?? 0;
    return (consonant === 0x72 || consonant === 0x74 || consonant === 0x76) && isVowelLike(codes[at - 3] ?? 0);
  }
  return !isVowelLike(before) && before !== 0x73;
}

/** a, e, o, u, y, and `l` (the skeleton of `i`). */
function isVowelLike(code: number): boolean {
  return code === 0x61 || code === 0x65 || code === 0x6f || code === 0x75 || code === 0x6c || code === 0x79;
}

/** WORD flags of every keyword, infrastructure word, long brand and domain-spelling token (skeletons). */
function wordFlags(brands: readonly BrandEntry[], options: LabelAnalyzerOptions): Map<string, number> {
  const flags = new Map<string, number>();
  const shortWithVowel = (word: string): number => (word.length <= 2 && /[aeiouy]/.test(word) ? WORD.shortWithVowel : 0);
  for (const word of options.keywords) flags.set(skeletonOf(word), WORD.lure | shortWithVowel(word));
  for (const word of options.genericKeywords) {
    const skeleton = skeletonOf(word);
    if (!flags.has(skeleton)) flags.set(skeleton, WORD.lure | WORD.generic | shortWithVowel(word));
  }
  // Glued or not, a lure word reading wins over the token-only readings below.
  const tokenOnly = (word: string, strength: number): void => {
    const skeleton = skeletonOf(word);
    if (!flags.has(skeleton)) flags.set(skeleton, WORD.tokenOnly | strength);
  };
  options.infrastructureKeywords.forEach((word) => tokenOnly(word, 0));
  // Brands of 7+ letters count as lure words beside other brands (`pennkey-upenn`, `livechat-salesforce`:
  // a vendor's name beside its customer's), as tokens only: glued, `microsoft`+`personal` would make
  // `persona` a brand beside a lure; shorter brands are too often ordinary words (`apple-square`).
  brands.filter((b) => b.key.length >= BRAND_AS_LURE_LENGTH).forEach((b) => tokenOnly(b.key, WORD.lure));
  DOMAIN_SPELLING_TOKENS.forEach((word) => tokenOnly(word, WORD.lure));
  return flags;
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

