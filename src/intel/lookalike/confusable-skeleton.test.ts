import { describe, expect, it } from 'vitest';
import { SkeletonBuffer, skeletonOf } from './confusable-skeleton.js';

describe('skeletonOf', () => {
  it('folds ASCII look-alikes to one prototype', () => {
    expect(skeletonOf('rnicrosoft')).toBe(skeletonOf('microsoft'));
    expect(skeletonOf('vvalmart')).toBe(skeletonOf('walmart'));
    expect(skeletonOf('g00gle')).toBe(skeletonOf('google'));
    expect(skeletonOf('paypa1')).toBe(skeletonOf('paypal'));
    expect(skeletonOf('usceiiuiar')).toBe(skeletonOf('uscellular'));
  });
  it('maps Cyrillic, Greek and full-width letters, and strips diacritics', () => {
    expect(skeletonOf('аррlе')).toBe(skeletonOf('apple')); // Cyrillic а, р, р, е
    expect(skeletonOf('οkta')).toBe(skeletonOf('okta')); // Greek omicron
    expect(skeletonOf('ｏｋｔａ')).toBe(skeletonOf('okta'));
    expect(skeletonOf('oktá')).toBe(skeletonOf('okta'));
  });
  it('keeps different words different', () => {
    expect(skeletonOf('acme')).not.toBe(skeletonOf('acne'));
    expect(skeletonOf('okta')).not.toBe(skeletonOf('octa'));
  });
});

describe('SkeletonBuffer', () => {
  it('records hyphen boundaries, digit origin and source positions', () => {
    const buffer = new SkeletonBuffer(64);
    expect(buffer.fill('ab-rn-c1')).toBe(true);
    expect(buffer.compact).toBe('abmcl');
    expect(Array.from(buffer.boundary.slice(0, 6))).toEqual([1, 0, 1, 1, 0, 1]);
    expect(Array.from(buffer.digit.slice(0, 5))).toEqual([0, 0, 0, 0, 1]);
    expect(Array.from(buffer.source.slice(0, 6))).toEqual([0, 1, 3, 6, 7, 8]);
  });
  it('does not merge rn across a hyphen', () => {
    const buffer = new SkeletonBuffer(16);
    buffer.fill('r-n');
    expect(buffer.compact).toBe('rn');
  });
  it('refuses a label longer than its capacity', () => {
    expect(new SkeletonBuffer(8).fill('a'.repeat(9))).toBe(false);
  });
});
