import { skeletonOf } from './confusable-skeleton.js';
import { WORD } from './keyword-segmenter.js';
import type { BrandEntry, LabelAnalyzerOptions } from './label-analyzer.js';

/** Shortest brand that counts as a lure word beside another brand. */
const BRAND_AS_LURE_LENGTH = 7;

/** WORD flags of every keyword, infrastructure word, long brand and domain-spelling token (skeletons). */
export function wordFlags(brands: readonly BrandEntry[], options: LabelAnalyzerOptions): Map<string, number> {
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
  brands.filter((b) => b.key.length >= BRAND_AS_LURE_LENGTH && !b.partial).forEach((b) => tokenOnly(b.key, WORD.lure));
  options.domainSpellingTokens.forEach((word) => tokenOnly(word, WORD.lure));
  // dns.protect.workplace_abbreviations (`acme-cms`, `acme-ciso`): hyphen tokens only.
  options.workplaceAbbreviations.forEach((word) => tokenOnly(word, WORD.lure));
  for (const word of options.connectorWords.map(skeletonOf)) if (!flags.has(word)) flags.set(word, WORD.connector);
  return flags;
}
