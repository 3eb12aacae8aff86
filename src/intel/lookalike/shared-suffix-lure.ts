import { getPublicSuffix } from 'tldts';
import type { LabelFinding } from './label-analyzer.js';
import { SCORE } from './lookalike-scores.js';

const ICANN_ONLY = { allowPrivateDomains: false, extractHostname: false, detectIp: false, validateHostname: false } as const;

/**
 * `tickets.zapto.org`, `login.<free-host>.app`: a label made only of sign-in and IT-help words, taken
 * under a shared suffix (the private section of the Public Suffix List: dynamic DNS, free hosting).
 * Such a name is created in seconds with no registration, so there is no registration date for the
 * age check to weigh, and no business owns the word: the lure words are all there is to judge.
 * `suffix` is the public suffix found with private suffixes included; `ascii` the whole name.
 */
export function sharedSuffixLure(ascii: string, suffix: string, label: string): LabelFinding | undefined {
  const icannSuffix = getPublicSuffix(ascii, ICANN_ONLY);
  if (icannSuffix === null || icannSuffix.length >= suffix.length) return undefined;
  const detail = `"${label}" is only sign-in or IT-help words, taken under the shared suffix ${suffix}`;
  return { score: SCORE.lureOnSharedSuffix, brand: undefined, reasons: [{ code: 'lure_on_shared_suffix', detail }], whole: true };
}
