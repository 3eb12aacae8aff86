/**
 * One storage conformance suite, run on every engine (kysely's model: no mocks, the real databases).
 * SQLite always; PostgreSQL when it answers at 127.0.0.1:5432 (a visible skip otherwise).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChallengeStore } from '../../src/identity/challenges.js';
import { SessionManager } from '../../src/identity/index.js';
import { InviteBook } from '../../src/identity/invites.js';
import { createUserDirectory } from '../../src/identity/user-directory.js';
import { systemClock } from '../../src/lib/clock.js';
import { isGatehouseError } from '../../src/lib/errors.js';
import { cryptoRandom } from '../../src/lib/random.js';
import { migrationNames, openStore, publishChange, tailChangeFeed, type Change, type Store } from '../../src/store/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';

const pgAvailable = await havePostgres();
const timeouts = { idleMs: 3_600_000, absoluteMs: 86_400_000 };

async function until(condition: () => boolean | Promise<boolean>, what: string, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const engines: { name: string; available: boolean; url: () => Promise<string> }[] = [
  {
    name: 'sqlite',
    available: true,
    url: async () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-conf-')), 'store.db')}`,
  },
  {
    name: 'postgres',
    available: pgAvailable,
    url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_conformance'),
  },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`store conformance: ${engine.name}`, () => {
    let url: string;
    let a: Store;
    let b: Store; // a second instance on the same database
    beforeAll(async () => {
      url = await engine.url();
      a = await openStore({ url });
      b = await openStore({ url }); // migrations already applied: must be a no-op
    });
    const second = (name: string) => (name === 'sqlite' ? a : b);
    afterAll(async () => {
      await a?.close();
      await b?.close();
      if (engine.name === 'sqlite') rmSync(join(url.slice('sqlite:'.length), '..'), { recursive: true, force: true });
    });

    it('applies migrations once and records them', async () => {
      const rows = (await a.db.selectFrom('gatehouse_migrations' as never).selectAll().execute()) as { name: string }[];
      expect(rows.map((r) => r.name)).toEqual(migrationNames());
      expect(migrationNames()[0]).toBe('001-initial');
    });

    it('keeps timestamps as numbers and enforces unique emails', async () => {
      const users = createUserDirectory({ db: a.db, clock: systemClock, random: cryptoRandom });
      const user = await users.add({ email: 'Uniq@Acme.test', groups: ['ops', 'ops', 'admins'] });
      const loaded = await users.require('uniq@acme.test');
      expect(loaded.groups).toEqual(['admins', 'ops']);
      expect(typeof loaded.createdAt).toBe('number');
      expect(loaded.createdAt).toBe(user.createdAt);
      await expect(users.add({ email: 'uniq@acme.test' })).rejects.toMatchObject({ code: 'user_exists' });
      await expect(a.db.insertInto('users').values({ id: 'x', email: 'uniq@acme.test', name: 'x', status: 'active', reenroll_required: 0, created_at: 1, updated_at: 1 }).execute()).rejects.toThrow();
    });

    it('rolls back the state change and its feed row together', async () => {
      const before = await a.db.selectFrom('change_feed').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      await expect(
        a.db.transaction().execute(async (trx) => {
          await trx.insertInto('ip_blocks').values({ cidr: '198.51.100.0/24', reason: 'test', created_at: 1, created_by: null, expires_at: null }).execute();
          await publishChange(trx, a, systemClock, 'ip.blocked', { cidr: '198.51.100.0/24' });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      const after = await a.db.selectFrom('change_feed').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      expect(Number(after?.n)).toBe(Number(before?.n));
      expect(await a.db.selectFrom('ip_blocks').selectAll().execute()).toEqual([]);
    });

    it('delivers feed rows written by one instance to another, in order', async () => {
      const seen: Change[] = [];
      const tail = await tailChangeFeed({ store: b, pollMs: 25, clock: systemClock, onChange: (c) => seen.push(c) });
      try {
        for (const n of [1, 2, 3]) {
          await a.db.transaction().execute((trx) => publishChange(trx, a, systemClock, 'test.ping', { n }));
        }
        await until(() => seen.filter((c) => c.kind === 'test.ping').length === 3, 'three feed rows');
        expect(seen.filter((c) => c.kind === 'test.ping').map((c) => c.payload.n)).toEqual([1, 2, 3]);
      } finally {
        await tail.stop();
      }
    });

    it('a session revoked through one instance is refused by the other', async () => {
      const users = createUserDirectory({ db: a.db, clock: systemClock, random: cryptoRandom });
      const user = await users.add({ email: `rev-${engine.name}@acme.test` });
      const onA = new SessionManager(a, systemClock, cryptoRandom, timeouts);
      const onB = new SessionManager(b, systemClock, cryptoRandom, timeouts);
      const tail = await tailChangeFeed({ store: b, pollMs: 25, clock: systemClock, onChange: (c) => onB.applyChange(c) });
      try {
        const { token, session } = await onA.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' });
        expect((await onB.validate(token))?.userId).toBe(user.id); // now cached on B
        await onA.revoke([session.idHash], 'test');
        await tail.pollNow();
        expect(await onB.validate(token)).toBeUndefined();
      } finally {
        await tail.stop();
      }
    });

    it('revoking every session reaches the other instance through the cut-off, and survives a restart', async () => {
      const users = createUserDirectory({ db: a.db, clock: systemClock, random: cryptoRandom });
      const user = await users.add({ email: `all-${engine.name}@acme.test` });
      const onA = new SessionManager(a, systemClock, cryptoRandom, timeouts);
      const onB = new SessionManager(b, systemClock, cryptoRandom, timeouts);
      const tail = await tailChangeFeed({ store: b, pollMs: 25, clock: systemClock, onChange: (c) => onB.applyChange(c) });
      try {
        const { token } = await onA.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' });
        expect(await onB.validate(token)).toBeDefined();
        await new Promise((r) => setTimeout(r, 2)); // the cut-off is strictly after the session's creation
        await onA.revokeAll('incident');
        await tail.pollNow();
        expect(await onB.validate(token)).toBeUndefined();
        const restarted = new SessionManager(b, systemClock, cryptoRandom, timeouts);
        await restarted.loadRevocationCutoff();
        expect(await restarted.validate(token)).toBeUndefined();
        await new Promise((r) => setTimeout(r, 2));
        const fresh = await onA.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' });
        expect(await restarted.validate(fresh.token)).toBeDefined();
      } finally {
        await tail.stop();
      }
    });

    it('consumes a challenge exactly once under concurrency', async () => {
      const challenges = new ChallengeStore(a.db, systemClock, cryptoRandom);
      const other = new ChallengeStore(second(engine.name).db, systemClock, cryptoRandom);
      const stored = await challenges.create({ purpose: 'authenticate' }, 60_000);
      const results = await Promise.allSettled([challenges.consume(stored.id, 'authenticate'), other.consume(stored.id, 'authenticate')]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(isGatehouseError(rejected.reason) && rejected.reason.code).toBe('webauthn_challenge_unknown');
    });

    if (engine.name === 'postgres') it('keeps challenges in an unlogged table and every other table logged', async () => {
      // Migration 005: challenges skip the WAL; nothing that must survive a crash may.
      const rows = await sql<{ relname: string; relpersistence: string }>`select relname, relpersistence from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace`.execute(a.db);
      const unlogged = rows.rows.filter((r) => r.relpersistence === 'u').map((r) => r.relname);
      expect(unlogged).toEqual(['webauthn_challenges']);
    });

    if (engine.name === 'postgres') it('prepares each distinct query once per connection and reuses it', async () => {
      const single = await openStore({ url, poolSize: 1 });
      try {
        for (let i = 0; i < 3; i++) await single.db.selectFrom('users').select('id').where('email', '=', `nobody${i}@acme.test`).execute();
        const prepared = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(single.db);
        const named = prepared.rows.filter((r) => r.name.startsWith('gh_') && r.statement.includes('"email" = $1'));
        expect(named).toHaveLength(1);
        // Transaction control is never named (one connection, so the BEGIN ran on it too).
        await single.db.transaction().execute(async (trx) => trx.selectFrom('users').select('id').execute());
        const after = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(single.db);
        expect(after.rows.some((r) => /^\s*begin/i.test(r.statement))).toBe(false);
      } finally {
        await single.close();
      }
    });

    it('uses an invite once even when two requests race', async () => {
      const users = createUserDirectory({ db: a.db, clock: systemClock, random: cryptoRandom });
      const user = await users.add({ email: `race-${engine.name}@acme.test` });
      const book = new InviteBook(a.db, systemClock, cryptoRandom);
      const { token } = await book.create(user.id, 60_000, null);
      const found = await book.findUsable(token);
      const race = await Promise.allSettled([
        a.db.transaction().execute((trx) => book.consume(found.tokenHash, trx)),
        // better-sqlite3 is synchronous: a second connection in the same process would block the event
        // loop on the file lock, so on SQLite both racers share one handle (separate processes do not).
        second(engine.name).db.transaction().execute((trx) => book.consume(found.tokenHash, trx)),
      ]);
      expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    if (engine.name === 'postgres') it('delivers a feed row whose transaction commits after a later one (sequence gap)', async () => {
      const seen: number[] = [];
      const tail = await tailChangeFeed({ store: b, pollMs: 25, clock: systemClock, onChange: (c) => c.kind === 'gap.test' && seen.push(Number(c.payload.n)) });
      try {
        let releaseSlow!: () => void;
        const slowMayCommit = new Promise<void>((r) => (releaseSlow = r));
        let slowInserted!: () => void;
        const slowHasInserted = new Promise<void>((r) => (slowInserted = r));
        const slow = a.db.transaction().execute(async (trx) => {
          await publishChange(trx, a, systemClock, 'gap.test', { n: 1 }); // takes the lower id
          slowInserted();
          await slowMayCommit;
        });
        await slowHasInserted;
        await a.db.transaction().execute((trx) => publishChange(trx, a, systemClock, 'gap.test', { n: 2 }));
        await until(() => seen.includes(2), 'the later row');
        releaseSlow();
        await slow;
        await until(() => seen.includes(1), 'the earlier row that committed late');
        expect(seen.sort()).toEqual([1, 2]);
      } finally {
        await tail.stop();
      }
    });
  });
}
