import { describe, expect, it } from 'vitest';
import { VerdictMemoTable } from './verdict-memo.js';

describe('VerdictMemoTable', () => {
  it('stays within its byte budget under a flood of unique names, evicting the least recently used', () => {
    const maxBytes = 32 * 1024;
    const memo = new VerdictMemoTable(maxBytes, 50_000);
    const kept = memo.remember('default\0\0www.example.test', { action: 'allow' }, 60_000);
    for (let k = 0; k < 2_000; k++) {
      memo.remember(`default\0\0r${k}.victim.test`, { action: 'warn', reasons: [{ code: 'young_domain' }], humanReason: 'registered 2 days ago' }, 60_000);
      expect(memo.memoryUse().bytes).toBeLessThanOrEqual(maxBytes);
      if (k % 10 === 0) expect(memo.fresh('default\0\0www.example.test', 1_000)).toBe(kept);
    }
    expect(memo.memoryUse().evictions).toBeGreaterThan(1_800);
    expect(memo.fresh('default\0\0r0.victim.test', 1_000)).toBeUndefined();
    expect(memo.fresh('default\0\0r1999.victim.test', 1_000)?.verdict.action).toBe('warn');
  });

  it('drops a memo once it has expired', () => {
    const memo = new VerdictMemoTable(1024 * 1024, 10);
    memo.remember('k', { action: 'allow' }, 1_000);
    expect(memo.fresh('k', 999)).toBeDefined();
    expect(memo.fresh('k', 1_000)).toBeUndefined();
    expect(memo.memoryUse()).toMatchObject({ bytes: 0, entries: 0 });
  });
});
