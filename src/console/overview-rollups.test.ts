import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { createAuditLog, type AuditLog } from '../audit/index.js';
import { ManualClock } from '../lib/clock.js';
import { openStore, type Store } from '../store/index.js';
import { overviewNaive } from './overview-naive.js';
import { readOverview } from './overview-query.js';
import { OVERVIEW_RANGE_NAMES, type OverviewRange } from './overview-range.js';
import { startOverviewRollups } from './overview-rollup-timer.js';
import { rollupMark, rollUpOverview } from './overview-rollups.js';

/**
 * The overview's rollups against the raw rows they summarise, on both engines: the page's series
 * (rollups plus the live tail) equal the naive GROUP BY over raw rows for every range, across bucket
 * boundaries, after late rows, after two instances roll the same buckets, and after retention pruned
 * raw rows (then the rollups keep the counts the raw rows no longer have).
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_rollups') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`overview rollups (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let audit: AuditLog;
    const clock = new ManualClock(T0);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-console-rollups-'));
      store = await openStore({ url: await engine.url(dir) });
      audit = createAuditLog({ db: store.db, clock });
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const signIn = async (at: number, detail: Record<string, unknown>) => {
      clock.set(at);
      await audit.record({ type: 'sign_in', outcome: 'success', userId: 'u1', ip: '192.0.2.1', detail });
    };
    const refused = async (at: number, type: string, code: string) => {
      clock.set(at);
      await audit.record({ type, outcome: type === 'incident.alert' ? 'info' : 'failure', code, ip: '192.0.2.1', detail: {} });
    };
    const query = (at: number, verdict: string, reason = '') =>
      store.db.insertInto('dns_queries').values({ at, client: '192.0.2.9', user_id: null, protocol: 'udp', name: 'example.test', type: 'A', verdict, reason, latency_ms: 1 }).execute();
    const rollAll = async (now: number) => {
      let passes = 0;
      for (;;) {
        passes++;
        if (!(await rollUpOverview(store.db, now)).behind) return passes;
      }
    };
    const rollupRows = () => store.db.selectFrom('console_rollups').selectAll().orderBy('grain').orderBy('bucket_start').orderBy('series').orderBy('label').execute();
    const expectSameAsNaive = async (now: number, ranges: readonly OverviewRange[] = OVERVIEW_RANGE_NAMES) => {
      for (const range of ranges) {
        const page = await readOverview(store.db, range, now);
        const naive = await overviewNaive(store.db, range, now);
        expect(page.missing, range).toBeNull();
        expect({ range, buckets: page.buckets, series: page.series }).toEqual({ range, buckets: naive.buckets, series: naive.series });
      }
    };

    it('shows a far-behind rollup as a gap instead of grouping the raw tables, then catches up in bounded passes', async () => {
      // Events over ten days, on and either side of hour and day boundaries.
      await signIn(T0 - 9 * 24 * HOUR - 1, { method: 'webauthn', class: 'hwk' });
      await signIn(T0 - 25 * HOUR + 10 * MIN, { method: 'webauthn', class: 'hwk' });
      await signIn(T0 - 2 * HOUR - 1, { method: 'webauthn', class: 'swk' });
      await signIn(T0 - 2 * HOUR, { method: 'webauthn', class: 'swk' });
      await signIn(T0 - 30 * MIN, { method: 'password+totp', amr: ['pwd', 'otp', 'mfa'] });
      await signIn(T0 - 3 * MIN, { method: 'webauthn', class: 'hwk' });
      await refused(T0 - 40 * MIN, 'sign_in', 'bad_totp');
      await refused(T0 - 5 * HOUR, 'access.denied', 'group_required');
      await refused(T0 - 6 * 24 * HOUR, 'access.denied', 'group_required');
      await refused(T0 - 50 * MIN, 'incident.alert', 'lookalike_query');
      for (let i = 0; i < 40; i++) await query(T0 - 10 * 24 * HOUR + i * 6 * HOUR + (i % 3), 'allow');
      await query(T0 - HOUR, 'block', 'blocklist:malware');
      await query(T0 - HOUR - 1, 'block', 'classify:lookalike');
      await query(T0 - 4 * MIN, 'warn', 'classify:lookalike');
      await query(T0 - 1, 'allow');
      await query(T0, 'allow');

      const now = T0 + MIN;
      const before = await readOverview(store.db, '30d', now);
      expect(before.rolledTo).toBeNull();
      // Never rolled: the last three hours are counted live, the rest waits for the rollups.
      expect(before.missing).toEqual({ from: before.buckets[0], to: T0 - 3 * HOUR });
      expect(before.series.sign_in.hwk?.at(-1)).toBe(1);
      expect(before.series.sign_in.swk?.at(-1)).toBe(2);
      expect(before.series.denial['access:group_required']).toBeUndefined();

      expect(await rollAll(now)).toBeGreaterThan(1); // ten days of hours do not fit one pass
      await expectSameAsNaive(now);
    });

    it('puts each event in the bucket its time falls in', async () => {
      const now = T0 + MIN;
      const day = await readOverview(store.db, '24h', now);
      const at = (start: number) => day.buckets.indexOf(start);
      expect(day.series.sign_in.swk?.[at(T0 - 3 * HOUR)]).toBe(1);
      expect(day.series.sign_in.swk?.[at(T0 - 2 * HOUR)]).toBe(1);
      expect(day.series.sign_in.hwk?.[at(T0)]).toBe(0); // T0 - 3 min is the hour before T0
      expect(day.series.sign_in.hwk?.[at(T0 - HOUR)]).toBe(1);
      expect(day.series.sign_in['password+totp']?.[at(T0 - HOUR)]).toBe(1);
      expect(day.series.denial).toEqual({ 'access:group_required': expect.any(Array), 'sign_in:bad_totp': expect.any(Array) });
      expect(day.series.denial['sign_in:bad_totp']?.[at(T0 - HOUR)]).toBe(1);
      expect(day.series.alert.lookalike_query?.[at(T0 - HOUR)]).toBe(1);
      expect(day.series.dns.block?.[at(T0 - HOUR)]).toBe(1);
      expect(day.series.dns.block?.[at(T0 - 2 * HOUR)]).toBe(1);
      expect(day.series.lookalike).toEqual({ block: expect.any(Array), warn: expect.any(Array) });
      expect(day.series.dns.allow?.[at(T0)]).toBe(1);
      const hour = await readOverview(store.db, '1h', now);
      expect(hour.buckets).toHaveLength(12);
      expect(hour.buckets.at(-1)).toBe(T0);
      expect(hour.series.sign_in.hwk?.[hour.buckets.indexOf(T0 - 5 * MIN)]).toBe(1);
      expect(hour.series.lookalike.warn?.[hour.buckets.indexOf(T0 - 5 * MIN)]).toBe(1);
      const month = await readOverview(store.db, '30d', now);
      expect(month.buckets).toHaveLength(30);
      expect(month.series.sign_in.hwk?.reduce((a, b) => a + b, 0)).toBe(3);
      expect(Object.values(month.series.dns).flat().reduce((a, b) => a + b, 0)).toBe(45);
    });

    it('re-rolling gives the same rows, also when two instances roll the same buckets at once', async () => {
      const now = T0 + MIN;
      const rows = await rollupRows();
      expect(rows.length).toBeGreaterThan(0);
      await rollUpOverview(store.db, now);
      await Promise.all([rollUpOverview(store.db, now), rollUpOverview(store.db, now)]);
      expect(await rollupRows()).toEqual(rows);
      await expectSameAsNaive(now);
    });

    it('counts rows that arrive late in a bucket already rolled, on the next pass', async () => {
      let now = T0 + MIN;
      // Hour [T0-2h, T0-1h) and five minutes [T0-10m, T0-5m) are rolled; these rows land after that.
      await query(T0 - 90 * MIN, 'block', 'blocklist:malware');
      await query(T0 - 8 * MIN, 'block', 'blocklist:malware');
      const stale = await readOverview(store.db, '24h', now);
      const naive = await overviewNaive(store.db, '24h', now);
      // Until the next pass the page shows the rollup, one short (it really reads the rollups).
      expect(naive.series.dns.block![naive.buckets.indexOf(T0 - 2 * HOUR)]! - stale.series.dns.block![stale.buckets.indexOf(T0 - 2 * HOUR)]!).toBe(1);
      now = T0 + 5 * MIN;
      clock.set(now);
      await rollAll(now);
      await expectSameAsNaive(now);
    });

    it('keeps the counts of raw rows that retention has pruned', async () => {
      const now = T0 + 5 * MIN;
      const month = await readOverview(store.db, '30d', now);
      await store.db.deleteFrom('dns_queries').where('at', '<', T0 - 24 * HOUR).execute();
      await store.db.deleteFrom('audit_events').where('at', '<', T0 - 24 * HOUR).execute();
      await rollAll(now);
      const after = await readOverview(store.db, '30d', now);
      expect(after.series).toEqual(month.series);
      expect((await overviewNaive(store.db, '30d', now)).series).not.toEqual(month.series);
    });

    it('the background timer rolls on its own, and after stop() no pass runs again', async () => {
      await store.db.deleteFrom('console_rollup_marks').execute();
      const errors: unknown[] = [];
      const timer = startOverviewRollups({ db: store.db, clock, intervalMs: 20, catchUpMs: 20, onError: (error) => errors.push(error) });
      await expect.poll(() => rollupMark(store.db, '1h')).toBe(T0);
      await timer.stop();
      await store.db.deleteFrom('console_rollup_marks').execute();
      // Passes came every 20 ms; a timer left running would have written the mark again by now.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await rollupMark(store.db, '1h')).toBeUndefined();
      expect(errors).toEqual([]);
    });
  });
}
