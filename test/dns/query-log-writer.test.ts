/** The DNS query log's buffer against a real SQLite store: every query written, in order, or counted as dropped. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueryLogWriter } from '../../src/dns/query-log-writer.js';
import { openCoreFixture, type CoreFixture } from '../support/core-fixture.js';

describe('QueryLogWriter', () => {
  let fx: CoreFixture;
  const writer = (maxBuffer: number, onError: (error: unknown) => void = () => undefined) =>
    new QueryLogWriter({ store: fx.core.store, now: () => fx.clock.now(), flushIntervalMs: 1000, maxBuffer, retentionDays: 30, onError });
  const rows = () => fx.core.store.db.selectFrom('dns_queries').selectAll().orderBy('id').execute();
  const add = (log: QueryLogWriter, i: number) =>
    log.add(1_000 + i, i / 7, `10.0.0.${i % 250}`, i % 3 === 0 ? `user-${i}` : undefined, i % 2 === 0 ? 'udp' : 'doh', `host${i}.example.test`, i % 5 === 0 ? 'AAAA' : 'A', i % 4 === 0 ? 'block' : 'allow', i % 4 === 0 ? 'blocklist:ads' : '');

  beforeEach(async () => {
    fx = await openCoreFixture();
  });
  afterEach(async () => {
    await fx.close();
  });

  it('writes every entry with its fields, in arrival order, as the buffer grows', async () => {
    const log = writer(50_000);
    for (let i = 0; i < 2_500; i++) add(log, i);
    expect(log.pending).toBe(2_500);
    await log.flush();
    expect(log.pending).toBe(0);
    expect(log.written).toBe(2_500);
    const written = await rows();
    expect(written.map((r) => r.name)).toEqual(Array.from({ length: 2_500 }, (_, i) => `host${i}.example.test`));
    expect(written[3]).toMatchObject({ at: 1_003, latency_ms: 0.429, client: '10.0.0.3', user_id: 'user-3', protocol: 'doh', type: 'A', verdict: 'allow', reason: '' });
    expect(written[4]).toMatchObject({ user_id: null, protocol: 'udp', verdict: 'block', reason: 'blocklist:ads' });
    expect(written[5]).toMatchObject({ type: 'AAAA' });
  });

  it('drops and counts the oldest unwritten entries when the store falls behind', async () => {
    const log = writer(1_500);
    for (let i = 0; i < 2_000; i++) add(log, i);
    expect(log.dropped).toBe(500);
    await log.flush();
    const written = await rows();
    expect(written).toHaveLength(1_500);
    expect(written[0]!.name).toBe('host500.example.test');
    expect(written.at(-1)!.name).toBe('host1999.example.test');
  });

  it('keeps entries that arrive while a flush is under way, and the ring stays in order across the wrap', async () => {
    const log = writer(1_024);
    for (let i = 0; i < 900; i++) add(log, i);
    const flushing = log.flush();
    // The flush has taken its first batch of 500 synchronously: 400 + 600 fit in 1,024 slots, wrapping round.
    for (let i = 900; i < 1_500; i++) add(log, i);
    await flushing;
    await log.flush();
    expect(log.dropped).toBe(0);
    expect((await rows()).map((r) => r.name)).toEqual(Array.from({ length: 1_500 }, (_, i) => `host${i}.example.test`));
  });

  it('counts a batch the store refused as dropped and reports the error', async () => {
    const errors: unknown[] = [];
    const log = writer(1_000, (error) => errors.push(error));
    for (let i = 0; i < 10; i++) add(log, i);
    await fx.core.store.db.schema.dropTable('dns_queries').execute();
    await log.flush();
    expect(errors).toHaveLength(1);
    expect(log.dropped).toBe(10);
    expect(log.written).toBe(0);
    expect(log.pending).toBe(0);
  });
});
