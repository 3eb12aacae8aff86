/**
 * One-edit typo variants of a brand, generated once when the detector is built so that the DNS hot
 * path only does a Set lookup. The classes are those of dnstwist and of the typosquatting literature
 * (Moore & Edelman 2010; Dinaburg, "Bitsquatting", Black Hat 2011): a registrant counts on a reader
 * not noticing one missing, doubled, swapped, neighbouring or flipped character.
 */

export type TypoClass =
  | 'typo_omission'
  | 'typo_repetition'
  | 'typo_transposition'
  | 'typo_vowel_swap'
  | 'typo_bitsquat'
  | 'typo_replacement'
  | 'typo_insertion';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const VOWELS = 'aeiouy';

/** QWERTY neighbours (same row and the rows above and below), the usual fat-finger model. */
const KEYBOARD_NEIGHBOURS: Readonly<Record<string, string>> = {
  '1': '2q', '2': '13qw', '3': '24we', '4': '35er', '5': '46rt', '6': '57ty', '7': '68yu', '8': '79ui',
  '9': '80io', '0': '9op', q: '12wa', w: '23qeas', e: '34wrsd', r: '45etdf', t: '56ryfg', y: '67tugh',
  u: '78yihj', i: '89uojk', o: '90ipkl', p: '0ol', a: 'qwsz', s: 'weadzx', d: 'erfcxs', f: 'rtgvcd',
  g: 'tyhbvf', h: 'yujnbg', j: 'uikmnh', k: 'iolmj', l: 'opk', z: 'asx', x: 'zsdc', c: 'xdfv',
  v: 'cfgb', b: 'vghn', n: 'bhjm', m: 'njk',
};

export interface TypoVariant {
  readonly typo: TypoClass;
  /** The edit touches the first or last character, where a reader notices it least often... and where
   * ordinary words most often arise (`tmobile` → `mobile`, `athene` → `athena`). */
  readonly edge: boolean;
  /** A fat-finger class (omission, repetition, transposition, keyboard neighbour) rather than a
   * deliberate one (vowel swap, bit flip, arbitrary character), which turn brands into real words. */
  readonly fatFinger: boolean;
}

export interface TypoVariantOptions {
  /** Replace or insert any letter or digit, not only keyboard neighbours (long brands only). */
  anyCharacter: boolean;
}

/**
 * Every string one typo away from `brand` (lowercase letters and digits), mapped to the class that
 * produced it. The first class that produces a string keeps it: fat-finger classes come first.
 */
export function typoVariants(brand: string, { anyCharacter }: TypoVariantOptions): Map<string, TypoVariant> {
  const variants = new Map<string, TypoVariant>();
  const n = brand.length;
  let at = 0;
  let fatFinger = true;
  const add = (variant: string, typo: TypoClass): void => {
    if (variant === brand || variant.length < 2 || variants.has(variant)) return;
    variants.set(variant, { typo, edge: at === 0 || at >= n - 1, fatFinger });
  };
  // A dropped vowel reads as another name (`telekom` → `telkom`): phonetic, not a slip of the finger.
  for (at = 0; at < n; at++) {
    fatFinger = !VOWELS.includes(brand[at] ?? '');
    add(brand.slice(0, at) + brand.slice(at + 1), 'typo_omission');
  }
  fatFinger = true;
  for (at = 0; at < n; at++) add(brand.slice(0, at + 1) + brand.slice(at), 'typo_repetition');
  for (at = 0; at + 1 < n; at++) {
    const [a, b] = [brand[at] ?? '', brand[at + 1] ?? ''];
    if (a !== b) add(brand.slice(0, at) + b + a + brand.slice(at + 2), 'typo_transposition');
  }
  for (at = 0; at < n; at++) {
    const c = brand[at] ?? '';
    const near = KEYBOARD_NEIGHBOURS[c] ?? '';
    for (const r of near) add(brand.slice(0, at) + r + brand.slice(at + 1), 'typo_replacement');
  }
  for (at = 0; at <= n; at++) {
    const near = (KEYBOARD_NEIGHBOURS[brand[at - 1] ?? ''] ?? '') + (KEYBOARD_NEIGHBOURS[brand[at] ?? ''] ?? '');
    for (const r of near) add(brand.slice(0, at) + r + brand.slice(at), 'typo_insertion');
  }
  fatFinger = false;
  for (let i = 0; i < n; i++) {
    at = i;
    const c = brand[i] ?? '';
    if (!VOWELS.includes(c)) continue;
    for (const v of VOWELS) if (v !== c) add(brand.slice(0, i) + v + brand.slice(i + 1), 'typo_vowel_swap');
  }
  for (let i = 0; i < n; i++) {
    at = i;
    const code = brand.charCodeAt(i);
    for (let bit = 0; bit < 8; bit++) {
      const flipped = String.fromCharCode(code ^ (1 << bit));
      // Dinaburg: a flipped bit in a cached name; only results that are still valid hostname octets.
      if (/^[a-z0-9-]$/.test(flipped)) add(brand.slice(0, i) + flipped + brand.slice(i + 1), 'typo_bitsquat');
    }
  }
  if (anyCharacter) {
    for (at = 0; at < n; at++) {
      const c = brand[at] ?? '';
      for (const r of ALPHABET) if (r !== c) add(brand.slice(0, at) + r + brand.slice(at + 1), 'typo_replacement');
    }
    for (at = 0; at <= n; at++) for (const r of ALPHABET) add(brand.slice(0, at) + r + brand.slice(at), 'typo_insertion');
  }
  return variants;
}
