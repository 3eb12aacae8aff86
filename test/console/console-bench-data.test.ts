/**
 * The console bench's data generator at a tiny scale: what it says it wrote is in the tables, the
 * audit chain it extends still verifies (an event written before it and one after it included), and
 * the overview has sign-ins by method, denials by reason and DNS verdicts to chart. Without this the
 * bench's figures could be measured on data that silently stopped looking like an organisation's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDataCounts, generateConsoleData, type GeneratedConsoleData } from '../../bench/console/generate-console-data.js';
import { createAuditLog, verifyAuditChain } from '../../src/audit/index.js';
import { listLiveSessions } from '../../src/console/sessions-query.js';
import { ManualClock } from '../../src/lib/clock.js';
import { totpSecretContext } from '../../src/secrets/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';
import { testSealer } from '../support/test-kek.js';

const pgAvailable = await havePostgres();
const NOW = Date.UTC(2026, 11, 7, 12);
const counts = consoleDataCounts(0.002);
const engines = [
  { name: 'sqlite', available: true, url: async () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-bench-data-')), 'bench.db')}` },
  { name: 'postgres', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_bench_data') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`console bench data: ${engine.name}`, () => {
    let url: string;
    let store: Store;
    let generated: GeneratedConsoleData;
    const clock = new ManualClock(NOW);

    beforeAll(async () => {
      url = await engine.url();
      store = await openStore({ url });
      const audit = createAuditLog({ db: store.db, clock });
      await audit.record({ type: 'user.created', outcome: 'success', actor: 'test', detail: { before: 'the generator' } });
      const sealer = testSealer();
      generated = await generateConsoleData({ db: store.db, dialect: store.dialect, now: NOW, counts, sealTotpSecret: (userId, secret) => sealer.seal(secret, totpSecretContext(userId)) });
      await audit.record({ type: 'user.created', outcome: 'success', actor: 'test', detail: { after: 'the generator' } });
    });
    afterAll(async () => {
      await store?.close();
      if (engine.name === 'sqlite' && url) rmSync(join(url.slice('sqlite:'.length), '..'), { recursive: true, force: true });
    });

    const count = async (table: 'users' | 'sessions' | 'dns_queries' | 'audit_events' | 'credentials' | 'legacy_factors' | 'group_members' | 'app_sessions') =>
      Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

    it('writes the counts asked for, and says so', async () => {
      expect(counts).toEqual({ users: 20, sessions: 100, dnsQueries: 2000, auditEvents: 400 });
      expect(generated.rows).toMatchObject({ users: 20, sessions: 100, dns_queries: 2000, audit_events: 400 });
      expect(await count('users')).toBe(20);
      expect(await count('sessions')).toBe(100);
      expect(await count('dns_queries')).toBe(2000);
      expect(await count('audit_events')).toBe(402);
      for (const table of ['credentials', 'legacy_factors', 'group_members', 'app_sessions'] as const) expect(await count(table)).toBe(generated.rows[table]);
    });

    it('extends the audit chain so that it still verifies end to end', async () => {
      const verified = await verifyAuditChain(store.db, { pageSize: 64 });
      expect(verified.problem).toBeUndefined();
      expect(verified).toMatchObject({ ok: true, events: 402, last: { seq: 402 } });
    });

    it('has what the console shows: keys and password-only users, live sessions, sign-ins by method, denials by reason, DNS verdicts', async () => {
      const db = store.db;
      const classes = await db.selectFrom('credentials').select('authenticator_class').distinct().execute();
      expect(classes.map((c) => c.authenticator_class).sort()).toEqual(['hwk', 'swk']);
      expect(generated.passwordOnlyUsers).toBe(await count('legacy_factors'));
      expect(generated.passwordOnlyUsers).toBeGreaterThan(0);
      const sample = await db.selectFrom('credentials').select('user_id').where('user_id', '=', generated.sampleUserId).where('authenticator_class', '=', 'hwk').executeTakeFirst();
      expect(sample).toBeDefined();
      const live = await db.selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).where('revoked_at', 'is', null).where('expires_at', '>', NOW).executeTakeFirstOrThrow();
      expect(Number(live.n)).toBe(100);

      const signIns = await db.selectFrom('audit_events').select('detail').where('type', '=', 'sign_in').where('outcome', '=', 'success').execute();
      const methods = new Set(signIns.map((e) => (JSON.parse(e.detail) as { method: string; class?: string }).class ?? (JSON.parse(e.detail) as { method: string }).method));
      expect([...methods].sort()).toEqual(['hwk', 'password', 'password+totp', 'swk']);
      const denials = await db.selectFrom('audit_events').select('code').distinct().where('type', '=', 'access.denied').execute();
      expect(denials.map((d) => d.code)).toContain('no_policy_matched');
      expect(denials.length).toBeGreaterThan(2);

      const verdicts = await db.selectFrom('dns_queries').select('verdict').distinct().execute();
      expect(verdicts.map((v) => v.verdict)).toEqual(expect.arrayContaining(['allow', 'block']));
      const busiest = await db.selectFrom('dns_queries').select((eb) => eb.fn.countAll().as('n')).where('name', '=', generated.busiestName).executeTakeFirstOrThrow();
      expect(Number(busiest.n)).toBeGreaterThan(20);
      // Every row within the last 30 days, so a 30-day retention keeps all of it.
      const oldest = await db.selectFrom('dns_queries').select(sql<number>`min(at)`.as('at')).executeTakeFirstOrThrow();
      expect(Number(oldest.at)).toBeGreaterThan(NOW - 30 * 86_400_000);
    });

    it('the sessions page query on it: a search finds a user’s sessions by email or address, and the count stops at its cap', async () => {
      const db = store.db;
      const sample = await db.selectFrom('users').select('email').where('id', '=', generated.sampleUserId).executeTakeFirstOrThrow();
      const own = await db.selectFrom('sessions').select(['id_hash', 'ip']).where('user_id', '=', generated.sampleUserId).execute();
      expect(own.length).toBeGreaterThan(0);
      const byEmail = await listLiveSessions(db, NOW, { q: sample.email.toUpperCase(), limit: 100 });
      expect(byEmail.sessions.map((s) => s.userId)).toEqual(own.map(() => generated.sampleUserId));
      expect(byEmail).toMatchObject({ total: own.length, more: false });
      const byAddress = await listLiveSessions(db, NOW, { q: own[0]!.ip, limit: 100 });
      expect(byAddress.sessions.map((s) => s.ip)).toEqual(byAddress.sessions.map(() => own[0]!.ip));
      expect(byAddress.total).toBeGreaterThan(0);
      // "%" is a character in a search, not a wildcard: nothing has one.
      expect((await listLiveSessions(db, NOW, { q: '%', limit: 100 })).total).toBe(0);

      const all = await listLiveSessions(db, NOW, { limit: 10 });
      expect(all).toMatchObject({ total: 100, more: false });
      expect(all.sessions).toHaveLength(10);
      const lastSeen = all.sessions.map((s) => s.lastSeenAt);
      expect(lastSeen).toEqual([...lastSeen].sort((a, b) => b - a));
      expect(await listLiveSessions(db, NOW, { limit: 10, countCap: 40 })).toMatchObject({ total: 40, more: true });
      expect(await listLiveSessions(db, NOW, { limit: 10, countCap: 100 })).toMatchObject({ total: 100, more: false });
    });
  });
}
