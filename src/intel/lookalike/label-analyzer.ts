import { isAbbreviationToken } from './abbreviation-token.js';
import { CharTrie } from './char-trie.js';
import { SkeletonBuffer, skeletonOf } from './confusable-skeleton.js';
import { INFRASTRUCTURE, KeywordSegmenter, LURE, UNREACHABLE, VIEW, type View, WORD } from './keyword-segmenter.js';
import type { LookalikeReason, LookalikeReasonCode } from './lookalike-verdict.js';
import { LureSuffixMatcher } from './lure-suffix.js';
import { SCORE } from './lookalike-scores.js';
import { TypoMatcher } from './typo-matcher.js';
import { wordFlags } from './word-flags.js';

/** A brand to defend: a configured brand or the first label of a protected domain. */
export interface BrandEntry {
  /** As configured (`t-mobile`), shown in verdicts. */
  readonly name: string;
  /** Lowercase letters and digits only (`tmobile`): the form typo variants are made from. */
  readonly key: string;
  /** Suffixes under which this label is a protected domain (`com` for `acme.com`). */
  readonly protectedSuffixes: readonly string[];
  /** The protected domains with this key, as configured (`t-mobile.com`, `tmobile.com`), for reasons. */
  readonly protectedDomains: readonly string[];
  /** Matched inside longer labels too; false for short labels taken from protected domains
   * (`box.com` → `box`), which only match as a whole label (TLD swap). */
  readonly compounds: boolean;
  /** The distinctive part of a brand named with its scope or a name suffix (`cellular` of `uscellular`,
   * `mongo` of `mongodb`, shown as the brand): an ordinary word more often than not, so it counts only
   * beside lure words. */
  readonly partial: boolean;
  /** Its spellings with hyphens, configured or from protected domains (`t-mobile`, `wal-mart`). */
  readonly hyphenated: readonly string[];
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
  /** Workplace-system abbreviations, lure words as hyphen tokens (`acme-cms`). */
  readonly workplaceAbbreviations: readonly string[];
  /** Machine-host abbreviations, never a suspicious abbreviation beside a brand (`acme-dns`). */
  readonly machineAbbreviations: readonly string[];
  /** Words that join a lure word to a brand when glued (`workatacme`). */
  readonly connectorWords: readonly string[];
  /** Words naming the company itself (`acmeinc`). */
  readonly legalEntityWords: readonly string[];
  /** Hyphen tokens that spell a domain in a label (`com-acme-login`). */
  readonly domainSpellingTokens: readonly string[];
  /** ccTLDs sold as generic names (`co`, `io`): not a country's namespace. */
  readonly vanityCctlds: readonly string[];
}

/** `de`, `co.uk`, `com.br`: a namespace of one country (the last label is a non-vanity ccTLD). */
function isCountrySuffix(suffix: string, vanityCctlds: ReadonlySet<string>): boolean {
  const last = suffix.slice(suffix.lastIndexOf('.') + 1);
  return last.length === 2 && (suffix.includes('.') || !vanityCctlds.has(last));
}

export interface LabelFinding {
  readonly score: number;
  readonly brand: BrandEntry | undefined;
  readonly reasons: readonly LookalikeReason[];
  /** The whole label is the brand (after skeleton and without hyphens). */
  readonly whole: boolean;
}

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
  private readonly typos: TypoMatcher;
  private readonly lureSuffixes: LureSuffixMatcher;
  /** Per brand: it is also a lure keyword, i.e. an IT vendor whose portal staff sign in to (`workday`). */
  private readonly vendors: readonly boolean[];
  private readonly machineAbbreviations: ReadonlySet<string>;
  private readonly vanityCctlds: ReadonlySet<string>;
  private readonly legalEntityWords: ReadonlySet<string>;
  private readonly legalEntityMaxLength: number;

  constructor(
    private readonly brands: readonly BrandEntry[],
    private readonly options: LabelAnalyzerOptions,
  ) {
    this.segmenter = new KeywordSegmenter(wordFlags(brands, options));
    this.brandViews = brands.map((b) =>
      b.key.length >= options.minTypoLength ? VIEW.long : isInitialism(b.key) ? VIEW.initialism : VIEW.short,
    );
    this.lureSuffixes = new LureSuffixMatcher(options.lureSuffixes);
    this.machineAbbreviations = new Set(options.machineAbbreviations);
    this.vanityCctlds = new Set(options.vanityCctlds);
    this.legalEntityWords = new Set(options.legalEntityWords.map(skeletonOf));
    this.legalEntityMaxLength = Math.max(0, ...[...this.legalEntityWords].map((w) => w.length));
    const keywords = new Set(options.keywords);
    this.vendors = brands.map((b) => keywords.has(b.key));
    brands.forEach((brand, index) => this.brandTrie.add(skeletonOf(brand.key), index));
    // A variant that is another brand or a keyword would make that name a "typo" of this brand.
    this.typos = new TypoMatcher(
      brands,
      options.minTypoLength,
      (skeleton) => this.brandTrie.get(skeleton) !== undefined || this.segmenter.flagsOf(skeleton) !== 0,
    );
  }

  /** Number of precomputed typo variants. */
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
    this.suffix = suffix;
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

    const typo = this.typos.find(buffer, this.segmenter, label);
    if (typo !== undefined && typo.score > (finding?.score ?? 0)) finding = typo;

    const lure = this.lureSuffixes.find(buffer, this.lastWasAllKeywords, label);
    if (lure !== undefined && finding === undefined) finding = lure;
    else if (lure !== undefined && finding !== undefined) {
      finding = { ...finding, score: Math.max(finding.score, lure.score), reasons: [...finding.reasons, ...lure.reasons] };
    }
    return finding;
  }

  /** Public suffix of the label being analysed (undefined for subdomain labels). */
  private suffix: string | undefined;

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
    if (whole && brand.partial) return 0;
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
    if (brand.partial) {
      this.scoredCode = 'brand_keyword_compound';
      const besideLure = lureAround || (token && this.segmenter.hasLureOutside(view, i, j));
      return besideLure ? Math.min(1, SCORE.partBesideLure + (lookalike ? SCORE.lookalikeCharactersBonus : 0)) : 0;
    }
    let score: number;
    if (left !== UNREACHABLE && right !== UNREACHABLE) {
      const strongest = Math.max(left, right);
      if (strongest === LURE) [score, this.scoredCode] = [SCORE.lureCompound, 'brand_keyword_compound'];
      else if (strongest === INFRASTRUCTURE) [score, this.scoredCode] = [SCORE.infrastructureCompound(length), 'brand_keyword_compound'];
      else [score, this.scoredCode] = [SCORE.numberCompound(length), 'brand_number_compound'];
    } else if (token) {
      if (this.segmenter.hasLureOutside(view, i, j)) [score, this.scoredCode] = [SCORE.tokenBesideLure, 'brand_keyword_compound'];
      else if (this.vendors[brandIndex] === true) [score, this.scoredCode] = [SCORE.vendorToken, 'brand_keyword_compound'];
      else if (view === VIEW.long && this.besideAbbreviation(i, j, n, label)) [score, this.scoredCode] = [SCORE.tokenBesideAbbreviation, 'brand_abbreviation'];
      else [score, this.scoredCode] = [SCORE.token(length), 'brand_token'];
    } else if (lookalike) {
      // Look-alike letters half inside another word (`globalcloud` → `icloud`) are coincidence.
      return 0;
    } else if (left === LURE || right === LURE) {
      // `servicenow-infosysapps`: the brand's own host style (`<brand>apps`) behind a lure token.
      const hostStyle = left === LURE ? this.gluedInfrastructureAfter(j) : this.gluedInfrastructureBefore(i);
      [score, this.scoredCode] = [hostStyle ? SCORE.tokenBesideLure : SCORE.besideLure(length), 'brand_keyword_compound'];
    } else if (i === 0 && this.corporateNameElsewhere(brand, j, n)) {
      [score, this.scoredCode] = [SCORE.corporateNameElsewhere, 'tld_swap'];
    } else {
      [score, this.scoredCode] = [SCORE.embedded, 'brand_embedded'];
    }
    return Math.min(1, score + (lookalike ? SCORE.lookalikeCharactersBonus : 0));
  }

  /**
   * `acmeinc.net` for `acme.com`: the brand glued to a legal-entity word, the name of its corporate
   * site, under a suffix where the brand has no domain.
   */
  private corporateNameElsewhere(brand: BrandEntry, j: number, n: number): boolean {
    const suffix = this.suffix;
    if (n - j > this.legalEntityMaxLength || suffix === undefined || brand.protectedSuffixes.length === 0) return false;
    if (brand.protectedSuffixes.includes(suffix)) return false;
    for (let k = j; k < n; k++) if (this.buffer.boundary[k] === 1) return false;
    return this.legalEntityWords.has(this.buffer.compact.slice(j, n));
  }

  /** Whether the label is two hyphen tokens, the brand at compact[i, j) and an abbreviation (`cts-acme`). */
  private besideAbbreviation(i: number, j: number, n: number, label: string): boolean {
    const boundary = this.buffer.boundary;
    const [start, end] = i === 0 ? [j, n] : j === n ? [0, i] : [0, 0];
    for (let k = start + 1; k < end; k++) if (boundary[k] === 1) return false;
    return end > start && isAbbreviationToken(this.buffer, start, end, label, this.machineAbbreviations);
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
    return this.buffer.sourceDiffers(brand.key, i, j, label);
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
    if (whole && suffix !== undefined && score === SCORE.exact && isCountrySuffix(suffix, this.vanityCctlds)) {
      score = this.options.countryTldSwapScore;
    }
    if (whole && suffix !== undefined && brand.protectedSuffixes.length > 0) {
      const real = brand.protectedDomains.join(', ');
      reasons.push({ code: 'tld_swap', detail: `"${label}.${suffix}" reuses the label of ${real} under another suffix` });
    } else if (whole) {
      reasons.push({ code: 'brand_exact', detail: `label "${label}" is the brand "${brand.name}"` });
    } else if (brand.partial) {
      reasons.push({ code, detail: `label "${label}" contains "${brand.key}", the distinctive part of the brand "${brand.name}" (${describe(code)})` });
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
}

function describe(code: LookalikeReasonCode): string {
  switch (code) {
    case 'brand_keyword_compound':
      return 'with lure words';
    case 'brand_number_compound':
      return 'with digits';
    case 'brand_token':
      return 'as a hyphen-separated token';
    case 'brand_abbreviation':
      return 'beside an abbreviation';
    case 'tld_swap':
      return 'as its corporate name, under a suffix where the brand has no domain';
    default:
      return 'inside a longer word';
  }
}

