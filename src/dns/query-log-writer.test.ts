import { describe, expect, it } from 'vitest';
import type { Store } from '../store/index.js';
import { queryLogRowBytes } from './memory-budget.js';
import { QueryLogWriter } from './query-log-writer.js';

/** Rows are only added here, never flushed: the store is not touched. */
const writer = (maxBuffer: number, maxBytes?: number) => new QueryLogWriter({
  store: {} as Store, now: () => 0, flushIntervalMs: 1000, maxBuffer, retentionDays: 1, onError: () => undefined,
  ...(maxBytes !== undefined ? { maxBytes } : {}),
});

describe('QueryLogWriter memory budget', () => {
  it('holds no more accounted bytes than its budget under a flood of unique names, dropping the oldest rows', () => {
    const maxBytes = 20_000;
    const log = writer(50_000, maxBytes);
    for (let k = 0; k < 5_000; k++) {
      log.add(k, 0.1, `10.0.0.${k % 250}`, undefined, 'udp', `r${k}.victim.test`, 'A', 'allow', '');
      expect(log.memoryUse().bytes).toBeLessThanOrEqual(maxBytes);
    }
    const use = log.memoryUse();
    expect(use.entries).toBe(log.pending);
    expect(log.dropped).toBe(5_000 - log.pending);
    expect(use.bytes).toBeGreaterThan(maxBytes - queryLogRowBytes('r4999.victim.test', '10.0.0.249', undefined));
  });

  it('gives the bytes back when rows are written', async () => {
    const written: unknown[][] = [];
    const store = { db: { insertInto: () => ({ values: (rows: unknown[]) => ({ execute: async () => { written.push(rows); } }) }) } } as unknown as Store;
    const log = new QueryLogWriter({ store, now: () => 0, flushIntervalMs: 1000, maxBuffer: 1000, maxBytes: 100_000, retentionDays: 1, onError: () => undefined });
    for (let k = 0; k < 700; k++) log.add(k, 0.1, '10.0.0.1', undefined, 'udp', `n${k}.test`, 'A', 'allow', '');
    await log.flush();
    expect(written.flat()).toHaveLength(log.written);
    expect(log.memoryUse()).toMatchObject({ bytes: 0, entries: 0 });
  });

  it('still drops the oldest at maxBuffer rows when the byte budget is larger', () => {
    const log = writer(100, 10_000_000);
    for (let k = 0; k < 150; k++) log.add(k, 0.1, '10.0.0.1', 'alice', 'doh', `n${k}.test`, 'A', 'allow', '');
    expect(log.pending).toBe(100);
    expect(log.dropped).toBe(50);
  });
});
