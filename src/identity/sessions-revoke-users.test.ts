import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { ManualClock } from '../lib/clock.js';
import { cryptoRandom } from '../lib/random.js';
import { openStore, tailChangeFeed, type Change, type Store } from '../store/index.js';
import { SESSION_FEED, SessionManager } from './sessions.js';
import { createUserDirectory } from './user-directory.js';

/**
 * Incident containment ends the sessions of many users at once, inside the step's own transaction (so
 * its audit event commits with the revocation). The sessions must end on this instance at once and on
 * every other one through a single feed row naming them; a batch that rolls back must leave them alive.
 */

const timeouts = { idleMs: 3_600_000, absoluteMs: 86_400_000 };
const DECLARED = Date.UTC(2026, 11, 7, 9, 0, 0);

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_revoke_users') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`revokeUsers (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    const clock = new ManualClock(DECLARED - 60_000);
    let sessions: SessionManager;
    let other: SessionManager; // a second instance on the same database, fed only by the change feed

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-revoke-users-'));
      store = await openStore({ url: await engine.url(dir) });
      sessions = new SessionManager(store, clock, cryptoRandom, timeouts);
      other = new SessionManager(store, clock, cryptoRandom, timeouts);
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const addUser = (email: string) => createUserDirectory({ db: store.db, clock, random: cryptoRandom }).add({ email });
    const issue = (userId: string) => sessions.issue({ userId, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' });
    const revokedFeedRows = async () =>
      (await store.db.selectFrom('change_feed').select(['kind', 'payload']).where('kind', 'like', 'session.%').orderBy('id').execute()).map((r) => ({ kind: r.kind, payload: JSON.parse(r.payload) as unknown }));

    it('ends the live sessions of every listed user with one feed row, here at once and on the other instance from the feed', async () => {
      const [alice, bob, carol] = await Promise.all([addUser('alice@acme.test'), addUser('bob@acme.test'), addUser('carol@acme.test')]);
      const a = await issue(alice.id);
      const b = await issue(bob.id);
      const c = await issue(carol.id);
      for (const s of [a, b, c]) expect(await other.validate(s.token)).toBeDefined(); // cached on the other instance
      const feedBefore = (await revokedFeedRows()).length;
      const received: Change[] = [];
      const tail = await tailChangeFeed({ store, pollMs: 60_000, clock, onChange: (change) => received.push(change) });

      const revoked = await store.db.transaction().execute((trx) => sessions.revokeUsers([alice.id, bob.id], 'contained', trx));

      expect(revoked).toBe(2);
      expect(await sessions.validate(a.token)).toBeUndefined();
      expect(await sessions.validate(b.token)).toBeUndefined();
      expect(await sessions.validate(c.token)).toBeDefined();
      expect((await revokedFeedRows()).slice(feedBefore)).toEqual([{ kind: SESSION_FEED.revoked, payload: { idHashes: expect.arrayContaining([a.session.idHash, b.session.idHash]) as unknown } }]);
      await tail.pollNow();
      await tail.stop();
      for (const change of received) other.applyChange(change);
      expect(await other.validate(a.token)).toBeUndefined();
      expect(await other.validate(b.token)).toBeUndefined();
      expect(await other.validate(c.token)).toBeDefined();

      // Again: nothing left to end, and no feed row for nothing.
      expect(await sessions.revokeUsers([alice.id, bob.id], 'contained')).toBe(0);
      expect(await sessions.revokeUsers([], 'contained')).toBe(0);
      expect((await revokedFeedRows()).length).toBe(feedBefore + 1);
    });

    it('with createdSince ends only the sessions created at or after it (inclusive), leaving older ones to revokeAll', async () => {
      const dave = await addUser('dave@acme.test');
      clock.set(DECLARED - 1);
      const older = await issue(dave.id);
      clock.set(DECLARED);
      const atDeclaration = await issue(dave.id);
      clock.set(DECLARED + 5_000);
      const newer = await issue(dave.id);

      expect(await sessions.revokeUsers([dave.id], 'reenroll', undefined, { createdSince: DECLARED })).toBe(2);
      const rows = await store.db.selectFrom('sessions').select(['id_hash', 'revoked_at', 'revoked_reason']).where('user_id', '=', dave.id).execute();
      const byHash = new Map(rows.map((r) => [r.id_hash, r]));
      expect(byHash.get(older.session.idHash)).toMatchObject({ revoked_at: null, revoked_reason: null });
      expect(byHash.get(atDeclaration.session.idHash)).toMatchObject({ revoked_reason: 'reenroll' });
      expect(Number(byHash.get(newer.session.idHash)!.revoked_at)).toBe(DECLARED + 5_000);
      expect(await sessions.validate(older.token)).toBeDefined();
    });

    it('a batch whose transaction rolls back (its audit event failed) leaves every session alive', async () => {
      const erin = await addUser('erin@acme.test');
      const s = await issue(erin.id);
      const feedBefore = (await revokedFeedRows()).length;
      await expect(
        store.db.transaction().execute(async (trx) => {
          await sessions.revokeUsers([erin.id], 'contained', trx);
          throw new Error('audit failed');
        }),
      ).rejects.toThrow('audit failed');
      expect((await store.db.selectFrom('sessions').select('revoked_at').where('id_hash', '=', s.session.idHash).executeTakeFirstOrThrow()).revoked_at).toBeNull();
      expect((await revokedFeedRows()).length).toBe(feedBefore);
      // The local eviction ran before the rollback; the next request re-reads the live row.
      expect(await sessions.validate(s.token)).toBeDefined();
    });
  });
}
