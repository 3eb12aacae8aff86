import type { TypoVariant } from './typo-variants.js';

/**
 * Scores, in one place so that the policy can be read and reviewed. A brand with lure words around it
 * is the 2022-2025 campaign pattern (`<target>-okta.com`, `<target>sso.com`) and scores highest. A
 * brand beside unknown words, or one edit away from a brand, is weaker evidence the shorter the brand
 * is: short brands occur inside ordinary words (`att` in `attention`) and one edit turns them into
 * other words (`marsh` → `mars`); brands also name their own hosts `<brand>cdn`, `<brand>-dns`.
 */
export const SCORE = {
  exact: 0.9,
  exactLookalikeCharacters: 0.95,
  lureCompound: 0.9,
  infrastructureCompound: (length: number) => (length >= 5 ? 0.75 : 0.6),
  numberCompound: (length: number) => (length >= 5 ? 0.75 : 0.45),
  tokenBesideLure: 0.85,
  token: (length: number) => (length >= 5 ? 0.6 : 0.45),
  /** A brand that is also a lure keyword (an IT vendor: `workday`) as a hyphen token beside any word:
   * `<target>-<vendor>` is the lure-suffix pattern; the vendors' own hosts are glued (`myworkdayjobs`). */
  vendorToken: 0.75,
  /** The brand's corporate name (`acmeinc`) under a suffix where the brand has no domain. */
  corporateNameElsewhere: 0.75,
  /** A long brand (`min_typo_length`+) as one of two hyphen tokens beside a three-consonant abbreviation (`cts-acme`). */
  tokenBesideAbbreviation: 0.75,
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
  /** An inner edit of a hyphenated brand that keeps its hyphen where the brand has it (`7-elevn`,
   * `wal-mrt`): the brand's written form imitated; ordinary words do not arise so. */
  typoKeepingHyphens: 0.75,
  lureSuffix: 0.75,
  /** The distinctive part of a brand named with its scope, beside lure words (`cellularhr` for `uscellular`). */
  partBesideLure: 0.75,
  /** A label of lure words only under a shared (dynamic DNS, free hosting) suffix: `tickets.zapto.org`. */
  lureOnSharedSuffix: 0.75,
} as const;
