import type { TypoClass } from './typo-variants.js';

/**
 * Stable reason codes: logs, block pages, STIX exports and tests branch on these, never on `detail`.
 */
export type LookalikeReasonCode =
  /** Brand next to lure words: `acme-okta.com`, `acmesso.net`, `okta-acme.co`, `com-acme-x.online`. */
  | 'brand_keyword_compound'
  /** Brand next to digits only: `acme360.com`, `2-acme.com`. */
  | 'brand_number_compound'
  /** Brand as a whole hyphen-separated token beside unknown words: `on-acme.com`. */
  | 'brand_token'
  /** A long brand as one of two hyphen tokens, the other a three-consonant abbreviation that no word
   * spells: `contoso-cts.com`, `lnk-contoso.com` (a department's or system's initials). */
  | 'brand_abbreviation'
  /** A long brand inside a longer word: `myacmebankonline.com`. */
  | 'brand_embedded'
  /** The label is exactly the brand, under a suffix that is not one of the protected domains. */
  | 'brand_exact'
  /** A protected domain's label under another public suffix: `acme.co` for `acme.com`; or the brand's
   * corporate name there: `acmeinc.net`. */
  | 'tld_swap'
  /** One-edit typos of a brand or protected domain label. */
  | TypoClass
  /** The brand split by hyphens: `ac-me.com`. */
  | 'typo_hyphenation'
  /** ASCII look-alike characters: `1`/`i`/`l`, `0`/`o`, `rn`/`m`, `vv`/`w` (`acrne.com`). */
  | 'homoglyph'
  /** Non-ASCII characters that render like the brand (UTS #39 skeleton; IDN `xn--` labels). */
  | 'confusable_unicode'
  /** Brand (or a protected domain) in the subdomain part of another registrable domain. */
  | 'brand_in_subdomain'
  /** `<anything>-okta.com`, `<anything>-sso.com`, `sso-<anything>.com`: sign-in lure word without a known brand. */
  | 'lure_keyword_suffix'
  /** Only lure words as a free name under a shared suffix (dynamic DNS, free hosting): `tickets.zapto.org`. */
  | 'lure_on_shared_suffix'
  /** The name is a protected domain or a subdomain of one (informational, never a lookalike). */
  | 'protected_domain'
  /** The registrable domain is on the known-good list (informational, never a lookalike). */
  | 'known_good_domain'
  /** The input is not a valid DNS name (informational, never a lookalike). */
  | 'invalid_name';

export interface LookalikeReason {
  readonly code: LookalikeReasonCode;
  readonly detail: string;
}

/** A decision as a value (STYLE.md habit 5): logged, shown on the block page, asserted in tests. */
export interface LookalikeVerdict {
  /** The name as checked (lowercase, no trailing dot; Unicode form when it had `xn--` labels). */
  readonly name: string;
  readonly lookalike: boolean;
  /** 0..1; `lookalike` is `score >= threshold`. */
  readonly score: number;
  /** The configured brand (or protected domain label) the name imitates. */
  readonly brand?: string;
  readonly reasons: readonly LookalikeReason[];
}

export interface LookalikeDetector {
  /** Never throws for any string input: bad input gives a non-lookalike verdict with `invalid_name`. */
  check(name: string): LookalikeVerdict;
}
