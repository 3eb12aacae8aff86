import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { createAuditLog, type AuditLog } from '../audit/index.js';
import { ManualClock } from '../lib/clock.js';
import { commitChange, openStore, tailChangeFeed, type Change, type ChangeAuditor, type Store } from './index.js';

/**
 * A state change, its feed row and its audit event commit together or not at all. The threats: an
 * instance applying a feed row for a change that rolled back (or never learning of one that
 * committed), and an audit log that records a block nobody applied or misses one that was. Real
 * databases and the real audit log; only the failures are staged.
 */

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_commit_change') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`commitChange (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let audit: AuditLog;
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-commit-change-'));
      store = await openStore({ url: await engine.url(dir) });
      audit = createAuditLog({ db: store.db, clock });
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** What the change under test may have left behind. */
    const traces = async (key: string) => ({
      setting: (await store.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value,
      feed: (await store.db.selectFrom('change_feed').select(['kind', 'payload']).where('kind', '=', `test.${key}`).execute()).map((r) => JSON.parse(r.payload) as unknown),
      audit: (await store.db.selectFrom('audit_events').select('detail').where('type', '=', `test.${key}`).execute()).map((r) => JSON.parse(r.detail) as unknown),
      auditSeq: Number((await store.db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirstOrThrow()).seq),
    });

    const change = (key: string, options: { failWrite?: boolean } = {}) => ({
      clock,
      write: async (trx: Store['db']) => {
        await trx.insertInto('settings').values({ key, value: 'on' }).execute();
        if (options.failWrite) throw new Error('write failed after its insert');
        return 'on';
      },
      feed: { kind: `test.${key}`, payload: { key } },
      event: { type: `test.${key}`, outcome: 'success' as const, actor: 'test', detail: { key } },
    });

    it('commits the state row, its feed row and its audit event together', async () => {
      const before = await traces('committed');
      await expect(commitChange(store, { ...change('committed'), audit })).resolves.toBe('on');
      expect(await traces('committed')).toEqual({ setting: 'on', feed: [{ key: 'committed' }], audit: [{ key: 'committed' }], auditSeq: before.auditSeq + 1 });
    });

    it('rolls all three back when the write throws', async () => {
      const before = await traces('write_fails');
      await expect(commitChange(store, { ...change('write_fails', { failWrite: true }), audit })).rejects.toThrow('write failed after its insert');
      expect(await traces('write_fails')).toEqual({ setting: undefined, feed: [], audit: [], auditSeq: before.auditSeq });
    });

    it('rolls all three back when the audit log refuses the event', async () => {
      const before = await traces('audit_refuses');
      // A detail the audit log cannot serialise: the real log throws before appending.
      const event = { type: 'test.audit_refuses', outcome: 'success' as const, detail: { size: 1n } };
      await expect(commitChange(store, { ...change('audit_refuses'), audit, event })).rejects.toThrow(TypeError);
      expect(await traces('audit_refuses')).toEqual({ setting: undefined, feed: [], audit: [], auditSeq: before.auditSeq });
    });

    it('rolls all three back, the appended audit event too, when the audit fails after appending', async () => {
      const before = await traces('audit_fails_late');
      const failingLate: ChangeAuditor = {
        record: async (event, trx) => {
          await audit.record(event, trx);
          throw new Error('audit failed after its append');
        },
      };
      await expect(commitChange(store, { ...change('audit_fails_late'), audit: failingLate })).rejects.toThrow('audit failed after its append');
      expect(await traces('audit_fails_late')).toEqual({ setting: undefined, feed: [], audit: [], auditSeq: before.auditSeq });
      // The chain head rolled back with it: the next event extends the chain without a gap.
      await audit.record({ type: 'test.after_rollback', outcome: 'info' });
      expect((await traces('audit_fails_late')).auditSeq).toBe(before.auditSeq + 1);
    });

    it('joins a caller’s transaction: nothing commits before the caller does, and its rollback undoes all three', async () => {
      const before = await traces('joined');
      await expect(
        store.db.transaction().execute(async (trx) => {
          await commitChange(store, { ...change('joined'), audit, db: trx });
          throw new Error('the caller failed after the change');
        }),
      ).rejects.toThrow('the caller failed after the change');
      expect(await traces('joined')).toEqual({ setting: undefined, feed: [], audit: [], auditSeq: before.auditSeq });

      await store.db.transaction().execute((trx) => commitChange(store, { ...change('joined'), audit, db: trx }));
      expect(await traces('joined')).toEqual({ setting: 'on', feed: [{ key: 'joined' }], audit: [{ key: 'joined' }], auditSeq: before.auditSeq + 1 });
    });

    it('derives the feed row and the event from what the write did, and leaves out either when told', async () => {
      const before = await traces('derived');
      const write = async (trx: Store['db']) => {
        const inserted = await trx.insertInto('settings').values({ key: 'derived', value: 'x' }).onConflict((oc) => oc.column('key').doNothing()).returning('key').execute();
        return inserted.length;
      };
      const options = {
        clock,
        audit,
        write,
        feed: (added: number) => ({ kind: 'test.derived', payload: { added } }),
        event: (added: number) => (added > 0 ? { type: 'test.derived', outcome: 'success' as const, detail: { added } } : undefined),
      };
      await expect(commitChange(store, options)).resolves.toBe(1);
      await expect(commitChange(store, options)).resolves.toBe(0);
      expect(await traces('derived')).toEqual({ setting: 'x', feed: [{ added: 1 }, { added: 0 }], audit: [{ added: 1 }], auditSeq: before.auditSeq + 1 });
    });

    it('writes no audit event when given none, and refuses an event without an audit log (programmer misuse)', async () => {
      const before = await traces('unaudited');
      const { event: _event, ...unaudited } = change('unaudited');
      await commitChange(store, unaudited);
      expect(await traces('unaudited')).toEqual({ setting: 'on', feed: [{ key: 'unaudited' }], audit: [], auditSeq: before.auditSeq });
      await expect(commitChange(store, change('misused'))).rejects.toThrow('without an audit log');
      expect((await traces('misused')).setting).toBeUndefined();
    });

    if (engine.name === 'PostgreSQL') {
      it('sends NOTIFY with the commit: a tail that polls once a minute receives the row', async () => {
        const other = await openStore({ url: store.postgresUrl! });
        const received: Change[] = [];
        const tail = await tailChangeFeed({ store: other, pollMs: 60_000, clock, onChange: (c) => received.push(c) });
        try {
          await tail.pollNow(); // settles the read the tail makes when it starts listening
          await commitChange(store, { ...change('notified'), audit });
          const deadline = Date.now() + 10_000;
          while (!received.some((c) => c.kind === 'test.notified') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          expect(received.filter((c) => c.kind === 'test.notified').map((c) => c.payload)).toEqual([{ key: 'notified' }]);
        } finally {
          await tail.stop();
          await other.close();
        }
      });
    }
  });
}
