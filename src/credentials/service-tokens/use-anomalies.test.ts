import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../../test/peers.js';
import { freshPostgresDatabase } from '../../../test/support/gatehouse-fixture.js';
import { createAuditLog, type AuditLog } from '../../audit/index.js';
import { ManualClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { openStore, type Store } from '../../store/index.js';
import { createServiceTokens, type OnUseAnomalies, type ServiceTokenLogger, type ServiceTokens, type ServiceTokenSettings, type TokenUseAnomalies } from './index.js';

/**
 * Unusual use found when recorded use is written, against real databases: judged against the history
 * as it was before the batch, reported after the write, and never at the cost of the write itself.
 */

const DAY = 86_400_000;
const settings: ServiceTokenSettings = { defaultTtlMs: 90 * DAY, maxTtlMs: 365 * DAY, maxOverlapMs: 3_600_000, flushMs: 60_000, maxPending: 1000, anomalySilenceMs: 30 * DAY };

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_token_anomalies') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`service token use anomalies (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let audit: AuditLog;
    let admin: ServiceTokens;
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
    const reported: TokenUseAnomalies[] = [];
    const logLines: string[] = [];
    const log: ServiceTokenLogger = { info: () => {}, warn: (fields, message) => logLines.push(JSON.stringify({ ...fields, message })) };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-token-anomalies-'));
      store = await openStore({ url: await engine.url(dir) });
      audit = createAuditLog({ db: store.db, clock });
      admin = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings });
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const host = async (onAnomalies: OnUseAnomalies, db = store) => {
      const tokens = createServiceTokens({ store: db, clock, random: cryptoRandom, audit, settings, log, onAnomalies });
      await tokens.load();
      return tokens;
    };
    const create = (name: string) => admin.create({ name, owner: 'build@acme.test', apps: ['payroll', 'wiki'], actor: 'admin@acme.test' });
    const use = (tokens: ServiceTokens, clientId: string, clientAddress: string, app = 'payroll', at = clock.now()) => tokens.recordUse({ clientId, at, clientAddress, app });
    const kinds = (found: TokenUseAnomalies | undefined) => (found?.anomalies ?? []).map((a) => a.kind);

    it('takes the first use as the baseline, then reports each new network and app with the use that showed it', async () => {
      const issued = await create('ci-deploy');
      const tokens = await host((found) => void reported.push(...found));
      use(tokens, issued.clientId, '198.51.100.4');
      await tokens.stop();
      expect(reported).toEqual([]);
      const firstUse = clock.now();

      clock.advance(60_000);
      const second = await host((found) => void reported.push(...found));
      use(second, issued.clientId, '198.51.100.77'); // same /24: not new
      use(second, issued.clientId, '203.0.113.9', 'payroll', clock.now() + 1);
      use(second, issued.clientId, '203.0.113.10', 'wiki', clock.now() + 2);
      await second.stop();
      expect(reported).toHaveLength(1);
      const [found] = reported;
      expect(found).toMatchObject({ name: 'ci-deploy', clientId: issued.clientId, owner: 'build@acme.test', status: 'active', previousUseAt: firstUse });
      expect(found!.anomalies).toEqual([
        { kind: 'new_network', severity: 'warning', network: '203.0.113.0/24', at: clock.now() + 1, address: '203.0.113.9', app: 'payroll' },
        { kind: 'new_app', severity: 'warning', app: 'wiki', at: clock.now() + 2, address: '203.0.113.10' },
      ]);
      expect(JSON.stringify(found)).not.toContain('gh-secret-');
      // The write happened as before: last use and sightings.
      expect((await admin.show('ci-deploy')).lastUsedIp).toBe('203.0.113.10');
      expect((await admin.sightings('ci-deploy')).map((s) => s.value).sort()).toEqual(['198.51.100.0/24', '203.0.113.0/24', 'payroll', 'wiki']);
      reported.length = 0;
    });

    it('reports use after silence, measured from the previous use to the earliest use of the batch', async () => {
      const issued = await create('quiet');
      const tokens = await host((found) => void reported.push(...found));
      use(tokens, issued.clientId, '198.51.100.4');
      await tokens.flushUse();
      const lastUse = clock.now();
      clock.advance(31 * DAY);
      use(tokens, issued.clientId, '198.51.100.4', 'payroll', clock.now() + 5_000);
      use(tokens, issued.clientId, '198.51.100.4'); // earlier, arriving later
      await tokens.stop();
      expect(reported.map((f) => [f.name, kinds(f)])).toEqual([['quiet', ['after_silence']]]);
      expect(reported[0]!.anomalies[0]).toMatchObject({ silentForMs: 31 * DAY, at: clock.now() });
      expect(reported[0]!.previousUseAt).toBe(lastUse);
      reported.length = 0;
    });

    it('reports the use of a token believed unused as critical, with the version it was judged at', async () => {
      const issued = await create('forgotten');
      const marked = await admin.markBelievedUnused('forgotten', { believedUnused: true, actor: 'owner@acme.test' });
      const tokens = await host((found) => void reported.push(...found));
      use(tokens, issued.clientId, '192.0.2.50');
      await tokens.stop();
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatchObject({ name: 'forgotten', version: marked.version, previousUseAt: undefined });
      expect(reported[0]!.anomalies).toEqual([{ kind: 'believed_unused_used', severity: 'critical', at: clock.now(), address: '192.0.2.50', app: 'payroll' }]);
      reported.length = 0;
    });

    it('a handler that throws or rejects never loses the last use, and is logged', async () => {
      const issued = await create('handler-fails');
      await admin.markBelievedUnused('handler-fails', { believedUnused: true, actor: 'owner@acme.test' });
      for (const failing of [
        () => {
          throw new Error('handler exploded');
        },
        () => Promise.reject(new Error('handler rejected')),
      ]) {
        clock.advance(1000);
        const tokens = await host(failing);
        use(tokens, issued.clientId, '192.0.2.51');
        expect(await tokens.flushUse()).toBe(1);
        await tokens.stop();
        expect((await admin.show('handler-fails')).lastUsedAt).toBe(clock.now());
      }
      expect(logLines.filter((l) => l.includes('anomaly handler failed'))).toHaveLength(2);
      expect(logLines.join('\n')).toContain('handler exploded');
      expect(logLines.join('\n')).toContain('handler rejected');
    });

    it('reads history in a bounded number of queries whatever the batch, and none without a handler', async () => {
      let selects = 0;
      const counting: KyselyPlugin = {
        transformQuery: (args) => {
          if (args.node.kind === 'SelectQueryNode') selects++;
          return args.node;
        },
        transformResult: async (args) => args.result,
      };
      const counted = { ...store, db: store.db.withPlugin(counting) } as Store;
      const issued = [];
      for (let i = 0; i < 60; i++) issued.push(await create(`many-${i}`));
      const tokens = await host(() => {}, counted);
      for (const [i, t] of issued.entries()) for (let j = 0; j < 5; j++) use(tokens, t.clientId, `10.${i}.${j}.1`);
      selects = 0;
      expect(await tokens.flushUse()).toBe(60);
      expect(selects).toBe(6); // three per 50 tokens
      await tokens.stop();

      const quiet = createServiceTokens({ store: counted, clock, random: cryptoRandom, audit, settings });
      await quiet.load();
      use(quiet, issued[0]!.clientId, '10.200.0.1');
      selects = 0;
      await quiet.stop();
      expect(selects).toBe(0);
    });
  });
}
