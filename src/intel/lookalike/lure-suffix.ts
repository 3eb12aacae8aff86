import { type SkeletonBuffer, skeletonOf } from './confusable-skeleton.js';
import type { LabelFinding } from './label-analyzer.js';
import { SCORE } from './lookalike-scores.js';

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

/** Sign-in words that are flagged beside any other word, without a known brand (`dns.protect.lure_suffixes`). */
export class LureSuffixMatcher {
  private readonly lureSkeletons: readonly string[];
  private readonly gluedSuffixes = new Set(GLUED_SUFFIXES.map(skeletonOf));

  constructor(lureSuffixes: readonly string[]) {
    this.lureSkeletons = lureSuffixes.map(skeletonOf);
  }

  /**
   * `<anything>-okta`, `<anything>sso`, `sso-<anything>`: a lure suffix as the last hyphen token, or as
   * the first one before 3+ more letters (`sso-att`, not `sso-fh`), or glued at the end when that cannot
   * be an ordinary word ending (`sso` after a consonant: Romance words end in `-esso`, `-osso`,
   * `-asso`), or a label made only of lure words that includes one.
   */
  find(buffer: SkeletonBuffer, allLure: boolean, label: string): LabelFinding | undefined {
    const n = buffer.length;
    for (const word of this.lureSkeletons) {
      const at = n - word.length;
      const suffix = at > 0 && buffer.endsWith(word);
      if (suffix) {
        if (buffer.boundary[at] !== 1 && !allLure && !this.gluedSuffixes.has(word) && !(word === 'sso' && ssoIsSeparate(buffer.codes, at))) {
          continue;
        }
      } else if (!(at >= 3 && buffer.boundary[word.length] === 1 && buffer.startsWith(word))) {
        if (!(allLure && n > word.length && buffer.compact.includes(word))) continue;
      }
      const detail = `"${label}" pairs the sign-in word "${word}" with another word`;
      return { score: SCORE.lureSuffix, brand: undefined, reasons: [{ code: 'lure_keyword_suffix', detail }], whole: false };
    }
    return undefined;
  }
}
