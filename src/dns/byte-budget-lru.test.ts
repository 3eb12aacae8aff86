import { describe, expect, it } from 'vitest';
import { ByteBudgetLru, type BudgetedEntry } from './byte-budget-lru.js';

interface Sized extends BudgetedEntry {
  name: string;
}
const sized = (name: string, bytes: number): Sized => ({ name, accountedBytes: bytes, recentlyUsed: false });

describe('ByteBudgetLru', () => {
  it('never holds more accounted bytes than its budget under a flood of unique names, evicting as it goes', () => {
    const lru = new ByteBudgetLru<string, Sized>(10_000);
    for (let k = 0; k < 5_000; k++) {
      // Sizes vary, as names and answers do.
      lru.set(`r${k}.victim.example`, sized(`r${k}`, 100 + (k % 7) * 50));
      expect(lru.usedBytes).toBeLessThanOrEqual(10_000);
    }
    expect(lru.evictions).toBeGreaterThan(4_900);
    expect(lru.size).toBeLessThan(100);
    const total = [...Array(5_000).keys()].reduce((sum, k) => sum + (lru.peek(`r${k}.victim.example`)?.accountedBytes ?? 0), 0);
    expect(total).toBe(lru.usedBytes);
  });

  it('evicts the least recently inserted first when nothing was used', () => {
    const lru = new ByteBudgetLru<string, Sized>(300);
    for (const name of ['a', 'b', 'c']) lru.set(name, sized(name, 100));
    lru.set('d', sized('d', 100));
    expect(lru.peek('a')).toBeUndefined();
    expect(['b', 'c', 'd'].map((n) => lru.peek(n)?.name)).toEqual(['b', 'c', 'd']);
    lru.set('e', sized('e', 150));
    expect(lru.peek('b')).toBeUndefined();
    expect(lru.peek('c')).toBeUndefined();
    expect(lru.memoryUse()).toEqual({ bytes: 250, maxBytes: 300, entries: 2, evictions: 3 });
  });

  it('keeps an entry that is used while a flood of unique names goes through', () => {
    const lru = new ByteBudgetLru<string, Sized>(1_000);
    lru.set('hot.example', sized('hot', 100));
    for (let k = 0; k < 10_000; k++) {
      lru.set(`flood-${k}.victim.example`, sized(`flood-${k}`, 100));
      // Asked for now and then: far less often than the flood cycles through the budget.
      if (k % 5 === 0) expect(lru.get('hot.example')?.name).toBe('hot');
    }
    expect(lru.peek('hot.example')?.name).toBe('hot');
    expect(lru.usedBytes).toBeLessThanOrEqual(1_000);
  });

  it('drops a used entry once it stops being used', () => {
    const lru = new ByteBudgetLru<string, Sized>(300);
    lru.set('was-hot', sized('was-hot', 100));
    lru.get('was-hot');
    for (let k = 0; k < 10; k++) lru.set(`n${k}`, sized(`n${k}`, 100));
    expect(lru.peek('was-hot')).toBeUndefined();
  });

  it('refuses an entry larger than the whole budget, and stores nothing with a budget of 0', () => {
    const lru = new ByteBudgetLru<string, Sized>(100);
    lru.set('small', sized('small', 60));
    expect(lru.set('huge', sized('huge', 101))).toBe(false);
    expect(lru.peek('small')?.name).toBe('small');
    const none = new ByteBudgetLru<string, Sized>(0);
    expect(none.set('a', sized('a', 1))).toBe(false);
    expect(none.size).toBe(0);
  });

  it('applies the count bound too, and replacing a key re-charges it', () => {
    const lru = new ByteBudgetLru<string, Sized>(1_000_000, 2);
    for (const name of ['a', 'b', 'c']) lru.set(name, sized(name, 10));
    expect(lru.size).toBe(2);
    expect(lru.peek('a')).toBeUndefined();
    lru.set('b', sized('b2', 40));
    expect(lru.usedBytes).toBe(50);
    lru.delete('c');
    expect(lru.usedBytes).toBe(40);
    lru.clear();
    expect(lru.memoryUse()).toMatchObject({ bytes: 0, entries: 0 });
  });
});
