import type { LabelFinding } from './label-analyzer.js';

/**
 * The features the fitted lookalike scorer reads, all taken from the analyses the rules already make
 * (brand match kind, typo class, token roles, lure words, suffix, digits, length). The order is the
 * order of the weights in lookalike-model.json; a model whose feature list differs is refused.
 */
export const FEATURE_NAMES = [
  'rule_score',
  'kind_exact',
  'kind_tld_swap',
  'kind_lure_compound',
  'kind_number_compound',
  'kind_token',
  'kind_abbreviation',
  'kind_embedded',
  'kind_typo',
  'kind_typo_fat_class',
  'kind_subdomain',
  'kind_lure_suffix_only',
  'kind_shared_suffix_lure',
  'has_lure_suffix',
  'has_lookalike_characters',
  'has_hyphenation',
  'several_findings',
  'brand_len_le3',
  'brand_len_4',
  'brand_len_5_6',
  'brand_len_ge7',
  'brand_has_own_domain',
  'label_len',
  'label_digits',
  'label_hyphens',
  'suffix_com',
  'suffix_net_org',
  'suffix_vanity_cc',
  'suffix_country',
  'suffix_other',
] as const;

export const FEATURE_COUNT = FEATURE_NAMES.length;

const VANITY = new Set(['ac', 'ai', 'am', 'cc', 'cf', 'co', 'cx', 'fm', 'ga', 'gg', 'gq', 'gs', 'im', 'io', 'la', 'ly', 'me', 'ml', 'ms', 'nu', 'pw', 'sh', 'so', 'st', 'su', 'tk', 'to', 'tv', 'vc', 'vg', 'ws']);

const KIND_INDEX: Readonly<Record<string, number>> = {
  brand_exact: 1,
  tld_swap: 2,
  brand_keyword_compound: 3,
  brand_number_compound: 4,
  brand_token: 5,
  brand_abbreviation: 6,
  brand_embedded: 7,
  brand_in_subdomain: 10,
  lure_keyword_suffix: 11,
  lure_on_shared_suffix: 12,
};

export interface FeatureInput {
  /** The finding that scored highest (registrable or subdomain label). */
  readonly best: LabelFinding;
  readonly findingCount: number;
  /** The registrable label, as queried (Unicode form). */
  readonly label: string;
  /** The public suffix (`com`, `co.uk`). */
  readonly suffix: string;
}

/** Writes the feature vector of one assessment into `out` (length FEATURE_COUNT); allocates nothing. */
export function writeFeatures(input: FeatureInput, out: Float64Array): void {
  out.fill(0);
  const { best, label, suffix } = input;
  out[0] = best.score;
  const first = best.reasons[0]?.code ?? '';
  if (first.startsWith('typo_') && first !== 'typo_hyphenation') {
    out[8] = 1;
    if (first === 'typo_omission' || first === 'typo_repetition' || first === 'typo_transposition') out[9] = 1;
  } else {
    const kind = KIND_INDEX[first];
    if (kind !== undefined) out[kind] = 1;
  }
  for (const reason of best.reasons) {
    if (reason.code === 'lure_keyword_suffix') out[13] = 1;
    else if (reason.code === 'homoglyph' || reason.code === 'confusable_unicode') out[14] = 1;
    else if (reason.code === 'typo_hyphenation') out[15] = 1;
  }
  if (input.findingCount > 1) out[16] = 1;
  const brand = best.brand;
  if (brand !== undefined) {
    const length = brand.key.length;
    out[length <= 3 ? 17 : length === 4 ? 18 : length <= 6 ? 19 : 20] = 1;
    if (brand.protectedSuffixes.length > 0) out[21] = 1;
  }
  let digits = 0;
  let hyphens = 0;
  for (let k = 0; k < label.length; k++) {
    const c = label.charCodeAt(k);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2d) hyphens++;
  }
  out[22] = Math.min(label.length, 40) / 10;
  out[23] = Math.min(digits, 4);
  out[24] = Math.min(hyphens, 4);
  const last = suffix.slice(suffix.lastIndexOf('.') + 1);
  if (suffix === 'com') out[25] = 1;
  else if (suffix === 'net' || suffix === 'org') out[26] = 1;
  else if (last.length === 2 && !suffix.includes('.') && VANITY.has(last)) out[27] = 1;
  else if (last.length === 2) out[28] = 1;
  else out[29] = 1;
}
