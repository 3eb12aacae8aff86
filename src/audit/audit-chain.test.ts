/**
 * The hash chain on real SQLite and PostgreSQL: a clean log verifies; every way of tampering with it
 * is caught and named; retention keeps it verifiable; concurrent appenders keep it linear.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { builtPath } from '../../test/support/paths.js';
import { OTHER_KEY_ENCRYPTION_KEY, testSealer } from '../../test/support/test-kek.js';
import { createUnavailableSealer } from '../secrets/index.js';
import { ManualClock } from '../lib/clock.js';
import { isGatehouseError } from '../lib/errors.js';
import { cryptoRandom } from '../lib/random.js';
import { openStore, type Store } from '../store/index.js';
import { createAuditLog, GENESIS_HASH, hashAuditEvent, loadCheckpointKey, pruneAuditLog, queryAudit, readAuditHead, verifyAuditChain, type AuditLog } from './index.js';

const pgAvailable = await havePostgres();
const DAY = 86_400_000;
const WORKER = builtPath('test/audit/append-worker.ts');
const sealer = testSealer();

const engines = [
  { name: 'sqlite', available: true, url: async () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-audit-')), 'audit.db')}` },
  { name: 'postgres', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_audit_chain') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`audit chain: ${engine.name}`, () => {
    let url: string;
    let store: Store;
    let clock: ManualClock;
    let audit: AuditLog;

    beforeAll(async () => {
      url = await engine.url();
      store = await openStore({ url });
    });
    afterAll(async () => {
      await store?.close();
      if (engine.name === 'sqlite') rmSync(join(url.slice('sqlite:'.length), '..'), { recursive: true, force: true });
    });
    beforeEach(async () => {
      // Each test starts from an empty chain and no checkpoint key.
      await store.db.deleteFrom('audit_events').execute();
      await store.db.deleteFrom('audit_checkpoints').execute();
      await store.db.deleteFrom('settings').where('key', 'in', ['audit_checkpoint_key', 'audit_checkpoint_public_key']).execute();
      await store.db.updateTable('audit_head').set({ seq: 0, hash: GENESIS_HASH }).where('id', '=', 1).execute();
      clock = new ManualClock(Date.UTC(2026, 0, 1));
      audit = createAuditLog({ db: store.db, clock });
    });

    async function writeEvents(count: number): Promise<void> {
      for (let i = 1; i <= count; i++) {
        await audit.record({ type: i % 2 ? 'sign_in' : 'access.denied', outcome: i % 2 ? 'success' : 'failure', userId: `u${i % 3}`, ip: `192.0.2.${i}`, detail: { app: i % 2 ? 'wiki' : 'ci', n: i } });
        clock.advance(1000);
      }
    }
    const db = () => store.db;
    const row = (seq: number) => db().selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();

    it('a clean log verifies, including events written inside callers\' transactions', async () => {
      await writeEvents(5);
      await db().transaction().execute(async (trx) => {
        await audit.record({ type: 'ip.blocked', outcome: 'success', actor: 'cli', detail: { cidr: '203.0.113.0/24' } }, trx);
      });
      // A rolled-back state change takes its event with it and leaves neither a gap nor a stale head.
      await expect(
        db().transaction().execute(async (trx) => {
          await audit.record({ type: 'never', outcome: 'info' }, trx);
          throw new Error('caller fails');
        }),
      ).rejects.toThrow('caller fails');
      await writeEvents(2);
      const result = await verifyAuditChain(db(), { pageSize: 3 });
      expect(result).toMatchObject({ ok: true, events: 8, start: { from: 'genesis' }, last: { seq: 8 } });
      const seqs = (await db().selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(await readAuditHead(db())).toMatchObject({ seq: 8, hash: result.last.hash });
    });

    it('reports each page as it goes, so a server can yield between pages', async () => {
      await writeEvents(25);
      const seen: number[] = [];
      const result = await verifyAuditChain(store.db, { pageSize: 10, onPage: (verified) => void seen.push(verified) });
      expect(result).toMatchObject({ ok: true, events: 25 });
      expect(seen).toEqual([10, 20, 25]);
    });

    it('catches a changed event (UPDATE of its detail) and names it', async () => {
      await writeEvents(6);
      await db().updateTable('audit_events').set({ detail: '{"app":"wiki","n":99}' }).where('seq', '=', 4).execute();
      const result = await verifyAuditChain(db());
      expect(result).toMatchObject({ ok: false, problem: { kind: 'changed', seq: 4 }, events: 3 });
    });

    it('catches a deleted event in the middle, and at the end', async () => {
      await writeEvents(6);
      await db().deleteFrom('audit_events').where('seq', '=', 3).execute();
      const middle = await verifyAuditChain(db());
      expect(middle.problem).toMatchObject({ kind: 'deleted', seq: 4 });
      expect(middle.problem?.message).toContain('event 3 is missing');

      await db().updateTable('audit_events').set({ prev_hash: (await row(2)).hash }).where('seq', '=', 4).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'changed', seq: 4 }); // relinking breaks its own hash
    });

    it('catches a deleted tail through the head', async () => {
      await writeEvents(5);
      await db().deleteFrom('audit_events').where('seq', '>=', 4).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'deleted', seq: 4, message: expect.stringContaining('events 4..5 are missing') });
    });

    it('catches a reordered pair, whether the hashes moved with the content or not', async () => {
      await writeEvents(6);
      const [a, b] = [await row(2), await row(3)];
      const content = (r: typeof a) => ({ at: r.at, type: r.type, outcome: r.outcome, code: r.code, user_id: r.user_id, actor: r.actor, ip: r.ip, detail: r.detail });
      await db().updateTable('audit_events').set(content(b)).where('seq', '=', 2).execute();
      await db().updateTable('audit_events').set(content(a)).where('seq', '=', 3).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'reordered', seq: 2, message: expect.stringContaining('seq 3') });

      await db().updateTable('audit_events').set({ ...content(b), prev_hash: b.prev_hash, hash: b.hash }).where('seq', '=', 2).execute();
      await db().updateTable('audit_events').set({ ...content(a), prev_hash: a.prev_hash, hash: a.hash }).where('seq', '=', 3).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'reordered', seq: 2 });
    });

    it('catches a forged event appended without the link, and one that links but bypassed the head', async () => {
      await writeEvents(3);
      const forged = { seq: 4, at: clock.now(), type: 'sign_in', outcome: 'success' as const, code: null, user_id: 'u1', actor: null, ip: '198.51.100.1', detail: '{}' };
      await db().insertInto('audit_events').values({ ...forged, prev_hash: GENESIS_HASH, hash: hashAuditEvent(GENESIS_HASH, forged) }).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'broken_link', seq: 4 });

      const prevHash = (await row(3)).hash;
      await db().updateTable('audit_events').set({ prev_hash: prevHash, hash: hashAuditEvent(prevHash, forged) }).where('seq', '=', 4).execute();
      const result = await verifyAuditChain(db());
      expect(result.problem).toMatchObject({ kind: 'broken_link', seq: 4, message: expect.stringContaining('beyond the head') });

      await db().updateTable('audit_events').set({ hash: '' }).where('seq', '=', 4).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'broken_link', seq: 4, message: expect.stringContaining('no hash') });
    });

    it('a chain rebuilt by someone with write access verifies internally, but not against an exported head', async () => {
      await writeEvents(5);
      const exported = await readAuditHead(db());
      // The attacker edits event 2 and recomputes every later hash and the head.
      await db().updateTable('audit_events').set({ ip: '10.0.0.1' }).where('seq', '=', 2).execute();
      let prev = (await row(1)).hash;
      for (let seq = 2; seq <= 5; seq++) {
        const r = await row(seq);
        const hash = hashAuditEvent(prev, { ...r, seq: Number(r.seq), at: Number(r.at) });
        await db().updateTable('audit_events').set({ prev_hash: prev, hash }).where('seq', '=', seq).execute();
        prev = hash;
      }
      await db().updateTable('audit_head').set({ hash: prev }).where('id', '=', 1).execute();
      expect((await verifyAuditChain(db())).ok).toBe(true);
      const anchored = await verifyAuditChain(db(), { anchor: { seq: exported.seq, hash: exported.hash } });
      expect(anchored).toMatchObject({ ok: false, problem: { kind: 'anchor_mismatch', seq: 5 } });
    });

    it('prune deletes old events, leaves a signed checkpoint, and the rest still verifies', async () => {
      await writeEvents(10); // at = t0 .. t0+9s
      const cut = Date.UTC(2026, 0, 1) + 4500; // events 1..5 are older
      clock.advance(DAY);
      const before = await readAuditHead(db());
      const pruned = await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer }, { before: cut, actor: 'test' });
      expect(pruned).toMatchObject({ deleted: 5, checkpoint: { seq: 5 } });
      expect(await db().selectFrom('audit_events').select('seq').where('seq', '<=', 5).execute()).toEqual([]);
      const result = await verifyAuditChain(db());
      expect(result).toMatchObject({ ok: true, events: 6, start: { from: 'checkpoint', seq: 5, keyFingerprint: pruned.checkpoint!.keyFingerprint } });
      // The prune itself is an event in the chain, and an anchor exported before it still matches.
      expect(await queryAudit(db(), { type: 'audit.pruned' })).toMatchObject([{ seq: 11, actor: 'test', detail: { deleted: 5, through_seq: 5 } }]);
      expect((await verifyAuditChain(db(), { anchor: { seq: before.seq, hash: before.hash } })).anchor).toBe('matched');
      // Retention deleted event 2 and no checkpoint records its hash: the anchor cannot be checked, which fails.
      expect(await verifyAuditChain(db(), { anchor: { seq: 2, hash: 'ab'.repeat(32) } })).toMatchObject({ ok: false, problem: { kind: 'anchor_pruned', seq: 2 } });
      // The checkpoint records the hash of event 5, the last one it deleted: an anchor there is checked.
      expect((await verifyAuditChain(db(), { anchor: { seq: 5, hash: pruned.checkpoint!.hash } })).anchor).toBe('matched_checkpoint');
      expect(await verifyAuditChain(db(), { anchor: { seq: 5, hash: 'ab'.repeat(32) } })).toMatchObject({ ok: false, problem: { kind: 'anchor_mismatch', seq: 5 } });

      // Nothing older left: a second prune is a no-op; everything can go and the log stays verifiable.
      expect(await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer }, { before: cut, actor: 'test' })).toEqual({ deleted: 0 });
      clock.advance(1);
      const all = await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer }, { before: clock.now(), actor: 'test' });
      expect(all).toMatchObject({ deleted: 6, checkpoint: { seq: 11 } });
      expect(await verifyAuditChain(db())).toMatchObject({ ok: true, events: 1, start: { seq: 11 } });
      await writeEvents(2);
      expect(await verifyAuditChain(db())).toMatchObject({ ok: true, events: 3, last: { seq: 14 } });
    });

    it('a tampered, foreign or deleted checkpoint fails verification', async () => {
      await writeEvents(6);
      clock.advance(DAY);
      await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer }, { before: Date.UTC(2026, 0, 1) + 2500, actor: 'test' });
      const cp = await db().selectFrom('audit_checkpoints').selectAll().executeTakeFirstOrThrow();
      const signature = Buffer.from(cp.signature, 'base64url');
      signature[0]! ^= 1;
      await db().updateTable('audit_checkpoints').set({ signature: signature.toString('base64url') }).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'bad_checkpoint', seq: 3, message: expect.stringContaining('signature') });

      await db().updateTable('audit_checkpoints').set({ signature: cp.signature, hash: 'ab'.repeat(32) }).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'bad_checkpoint', seq: 3 });

      // Re-signed with another key: valid signature, untrusted signer.
      await db().updateTable('audit_checkpoints').set({ hash: cp.hash }).execute();
      expect((await verifyAuditChain(db())).ok).toBe(true);
      expect((await verifyAuditChain(db(), { checkpointKeyFingerprint: 'SHA256:' + '0'.repeat(64) })).problem).toMatchObject({ kind: 'bad_checkpoint', message: expect.stringContaining('not by the trusted key') });

      await db().updateTable('settings').set({ value: 'not-a-key' }).where('key', '=', 'audit_checkpoint_public_key').execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'bad_checkpoint', message: expect.stringContaining('unreadable') });

      await db().deleteFrom('audit_checkpoints').execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'deleted', seq: 4, message: expect.stringContaining('events 1..3 are missing') });
    });

    it('prune refuses to sign over a tampered log, and refuses a future cut-off', async () => {
      await writeEvents(4);
      clock.advance(DAY);
      await db().updateTable('audit_events').set({ actor: 'someone-else' }).where('seq', '=', 2).execute();
      const error = await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer }, { before: clock.now() - 1, actor: 'test' }).catch((e: unknown) => e);
      expect(isGatehouseError(error) && error.code).toBe('audit_chain_invalid');
      expect(await db().selectFrom('audit_events').select('seq').execute()).toHaveLength(4);
      const future = await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer }, { before: clock.now() + DAY, actor: 'test' }).catch((e: unknown) => e);
      expect(isGatehouseError(future) && future.code).toBe('audit_prune_future');
    });

    it('prune needs the key-encryption key: refused without it or with the wrong one, before deleting anything; verify needs none', async () => {
      await writeEvents(4);
      clock.advance(DAY);
      for (const [other, cause] of [
        [createUnavailableSealer(), 'kek_not_configured'],
        [testSealer(OTHER_KEY_ENCRYPTION_KEY), 'sealed_value_unknown_key'],
      ] as const) {
        // The second round finds the key the first successful prune below did not yet create: create it now.
        if (cause === 'sealed_value_unknown_key') await loadCheckpointKey(db(), cryptoRandom, sealer);
        const error = await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer: other }, { before: clock.now() - 1, actor: 'test' }).catch((e: unknown) => e);
        expect(isGatehouseError(error) && error.code).toBe('audit_prune_needs_kek');
        expect(isGatehouseError(error) && error.detail).toContain(cause);
        expect(await db().selectFrom('audit_events').select('seq').execute()).toHaveLength(4);
      }
      // The private key is stored sealed (no PKCS#8 in the clear), its public half beside it.
      const rows = await db().selectFrom('settings').selectAll().where('key', 'in', ['audit_checkpoint_key', 'audit_checkpoint_public_key']).orderBy('key').execute();
      expect(rows[0]!.value).toMatch(/^gh-sealed\.v1\./);
      expect(rows[0]!.value).not.toContain('MC4CAQAwBQYDK2Vw');
      const pruned = await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer }, { before: clock.now() - 1, actor: 'test' });
      expect(pruned.checkpoint!.publicKey).toBe(rows[1]!.value);
      expect(await verifyAuditChain(db())).toMatchObject({ ok: true, start: { from: 'checkpoint', keyFingerprint: pruned.checkpoint!.keyFingerprint } });
    });

    it('an event older than the checkpoint, inserted after retention, is caught', async () => {
      await writeEvents(4);
      clock.advance(DAY);
      await pruneAuditLog({ db: db(), clock, random: cryptoRandom, sealer }, { before: Date.UTC(2026, 0, 1) + 1500, actor: 'test' });
      const old = { seq: 1, at: Date.UTC(2026, 0, 1), type: 'sign_in', outcome: 'success' as const, code: null, user_id: 'u9', actor: null, ip: null, detail: '{}' };
      await db().insertInto('audit_events').values({ ...old, prev_hash: GENESIS_HASH, hash: hashAuditEvent(GENESIS_HASH, old) }).execute();
      expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'broken_link', seq: 1 });
    });

    it('queryAudit filters by type, user (id or email), ip, app and time', async () => {
      await db().insertInto('users').values({ id: 'u1', email: 'ann@acme.test', name: 'Ann', status: 'active', reenroll_required: 0, created_at: 0, updated_at: 0 }).onConflict((oc) => oc.doNothing()).execute();
      await writeEvents(9);
      await audit.record({ type: 'access.denied', outcome: 'failure', detail: { app: 'wi%ki', n: 0 } });
      const t0 = Date.UTC(2026, 0, 1);
      expect((await queryAudit(db(), { type: 'access.denied' })).map((e) => e.seq)).toEqual([2, 4, 6, 8, 10]);
      expect((await queryAudit(db(), { user: 'ANN@acme.test' })).map((e) => e.seq)).toEqual([1, 4, 7]);
      expect((await queryAudit(db(), { user: 'u1' })).map((e) => e.seq)).toEqual([1, 4, 7]);
      expect((await queryAudit(db(), { ip: '192.0.2.5' })).map((e) => e.seq)).toEqual([5]);
      expect((await queryAudit(db(), { app: 'ci' })).map((e) => e.seq)).toEqual([2, 4, 6, 8]);
      expect((await queryAudit(db(), { app: 'wi%ki' })).map((e) => e.seq)).toEqual([10]);
      expect((await queryAudit(db(), { app: 'WIKI' })).map((e) => e.seq)).toEqual([]); // exact, even where LIKE is not
      expect((await queryAudit(db(), { since: t0 + 2000, until: t0 + 5000 })).map((e) => e.seq)).toEqual([3, 4, 5]);
      expect((await queryAudit(db(), { app: 'wiki', limit: 2 })).map((e) => e.seq)).toEqual([1, 3]);
      expect((await queryAudit(db(), { app: 'wiki', afterSeq: 3, limit: 2 })).map((e) => e.seq)).toEqual([5, 7]);
      const [first] = await queryAudit(db(), { limit: 1 });
      expect(first).toMatchObject({ seq: 1, type: 'sign_in', outcome: 'success', userId: 'u1', ip: '192.0.2.1', detail: { app: 'wiki', n: 1 }, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const missing = await queryAudit(db(), { user: 'ghost@acme.test' }).catch((e: unknown) => e);
      expect(isGatehouseError(missing) && missing.code).toBe('user_not_found');
    });

    // Two handles in one process is a PostgreSQL shape (a pool each); on SQLite the instances are processes (below).
    if (engine.name === 'postgres') it('two store handles appending in parallel keep one linear chain', async () => {
      const other = await openStore({ url });
      try {
        const second = createAuditLog({ db: other.db, clock });
        await Promise.all(
          Array.from({ length: 200 }, (_, i) => [
            audit.record({ type: 'a', outcome: 'info', detail: { i } }),
            second.record({ type: 'b', outcome: 'info', detail: { i } }),
          ]).flat(),
        );
        const result = await verifyAuditChain(db());
        expect(result).toMatchObject({ ok: true, events: 400, last: { seq: 400 } });
        const counts = await db().selectFrom('audit_events').select(['type', (eb) => eb.fn.countAll().as('n')]).groupBy('type').orderBy('type').execute();
        expect(counts.map((c) => [c.type, Number(c.n)])).toEqual([['a', 200], ['b', 200]]);
      } finally {
        await other.close();
      }
    });

    it('two processes appending at once keep one linear chain', async () => {
      await writeEvents(1);
      const worker = (type: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [WORKER, url, type, '200'], { stdio: ['ignore', 'ignore', 'inherit'] });
          child.on('exit', resolve);
        });
      expect(await Promise.all([worker('p1'), worker('p2'), audit.record({ type: 'here', outcome: 'info' })])).toEqual([0, 0, undefined]);
      expect(await verifyAuditChain(db())).toMatchObject({ ok: true, events: 402, last: { seq: 402 } });
    });

    it('an insert that bypasses the audit log cannot take a seq on its own', async () => {
      await writeEvents(1);
      const bypass = db().insertInto('audit_events').values({ at: 1, type: 'x', outcome: 'info', detail: '{}', prev_hash: '', hash: '' }).execute();
      if (engine.name === 'postgres') {
        await expect(bypass).rejects.toThrow(/null value in column "seq"/);
      } else {
        // SQLite gives the row a rowid; verification then names it.
        await bypass;
        const inserted = await db().selectFrom('audit_events').select('seq').where('type', '=', 'x').executeTakeFirstOrThrow();
        expect((await verifyAuditChain(db())).problem).toMatchObject({ kind: 'broken_link', seq: Number(inserted.seq) });
      }
      await sql`select 1`.execute(db());
    });
  });
}
