import type { SkeletonBuffer } from './confusable-skeleton.js';

/** ASCII letters that are not vowels (`y` counts as a vowel: `fly`, `gym` are words). */
function isConsonant(code: number): boolean {
  return code >= 0x62 && code <= 0x7a && code !== 0x65 && code !== 0x69 && code !== 0x6f && code !== 0x75 && code !== 0x79;
}

/**
 * Whether compact[start, end) of the label in `buffer` is a short abbreviation that cannot be read as
 * a word: exactly three consonant letters as typed (`cts`, `lnk`, `cms`), not a machine-host word
 * (dns.protect.machine_abbreviations: `dns`, `cdn`).
 * Phishing kits pair a brand with the initials of a department, system or division (`cts-<telco>`,
 * `<brand>-cms`); English words have a vowel (`box`, `fly`), so such a token is rarely a word of a
 * legitimate name. The input characters are read, not the skeleton (where `i` is written `l`).
 */
export function isAbbreviationToken(
  buffer: SkeletonBuffer,
  start: number,
  end: number,
  label: string,
  machineAbbreviations: ReadonlySet<string>,
): boolean {
  if (end - start !== 3 || buffer.nonAscii) return false;
  const from = buffer.source[start] ?? 0;
  const after = label.charCodeAt(from + 3);
  if (from + 3 < label.length && after !== 0x2d && after !== 0x5f) return false;
  for (let k = from; k < from + 3; k++) if (!isConsonant(label.charCodeAt(k))) return false;
  return !machineAbbreviations.has(label.slice(from, from + 3));
}
