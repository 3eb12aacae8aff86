import { describe, expect, it } from 'vitest';
import { DEFAULT_VETTED_SUFFIXES } from '../../config/sections/dns-protect.js';
import { vettedSuffixMatcher } from './vetted-suffix.js';

describe('vettedSuffixMatcher', () => {
  const vetted = vettedSuffixMatcher(DEFAULT_VETTED_SUFFIXES);
  it.each(['edu', 'gov', 'mil', 'int', 'ac.uk', 'edu.au', 'gov.br', 'go.jp', 'gouv.fr', 'google', 'apple'])('%s is vetted', (suffix) => {
    expect(vetted(suffix)).toBe(true);
  });
  it.each(['com', 'net', 'ac', 'io', 'co.uk', 'com.au', 'education'])('%s is open', (suffix) => {
    expect(vetted(suffix)).toBe(false);
  });
  it('a pattern with `.*` never matches the bare label (the open `.ac` registry)', () => {
    expect(vettedSuffixMatcher(['ac.*'])('ac')).toBe(false);
    expect(vettedSuffixMatcher(['ac.*'])('ac.jp')).toBe(true);
  });
  it('an empty list vets nothing', () => {
    expect(vettedSuffixMatcher([])('edu')).toBe(false);
  });
});
