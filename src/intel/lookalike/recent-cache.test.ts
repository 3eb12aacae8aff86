import { describe, expect, it } from 'vitest';
import { RecentCache } from './recent-cache.js';

describe('RecentCache', () => {
  it('stays bounded whatever is inserted', () => {
    const cache = new RecentCache<string, number>(8);
    for (let k = 0; k < 1000; k++) cache.set(`name-${k}`, k);
    expect(cache.size).toBeLessThanOrEqual(8);
    expect(cache.get('name-999')).toBe(999);
    expect(cache.get('name-0')).toBeUndefined();
  });
  it('keeps an entry that is used while others come and go', () => {
    const cache = new RecentCache<string, number>(8);
    cache.set('hot', 1);
    for (let k = 0; k < 100; k++) {
      cache.set(`cold-${k}`, k);
      expect(cache.get('hot')).toBe(1);
    }
  });
  it('capacity 0 caches nothing', () => {
    const cache = new RecentCache<string, number>(0);
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
