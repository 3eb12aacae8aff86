import { describe, expect, it } from 'vitest';
import { typoVariants } from './typo-variants.js';

describe('typoVariants', () => {
  const variants = typoVariants('contoso', { anyCharacter: false });
  it.each([
    ['cntoso', 'typo_omission'],
    ['conttoso', 'typo_repetition'],
    ['cnotoso', 'typo_transposition'],
    ['xontoso', 'typo_replacement'],
    ['contosoi', 'typo_insertion'],
    ['contaso', 'typo_vowel_swap'],
    ['cgntoso', 'typo_bitsquat'],
  ])('%s is %s', (variant, typo) => expect(variants.get(variant)?.typo).toBe(typo));
  it('marks dropped vowels and edge edits as weaker evidence', () => {
    expect(variants.get('contso')).toMatchObject({ typo: 'typo_omission', fatFinger: false });
    expect(variants.get('contoo')).toMatchObject({ typo: 'typo_omission', fatFinger: true, edge: false });
    expect(variants.get('ontoso')?.edge).toBe(true);
  });
  it('never contains the brand, and arbitrary characters only when asked', () => {
    expect(variants.has('contoso')).toBe(false);
    expect(variants.has('contqso')).toBe(false);
    expect(typoVariants('contoso', { anyCharacter: true }).get('contqso')?.typo).toBe('typo_replacement');
  });
  it('bit flips only produce valid hostname characters', () => {
    for (const [variant, { typo }] of typoVariants('okta', { anyCharacter: false })) {
      if (typo === 'typo_bitsquat') expect(variant).toMatch(/^[a-z0-9-]+$/);
    }
  });
});
