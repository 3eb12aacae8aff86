import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { hashSecret } from '../lib/secret-hash.js';
import { openStore, type Store } from '../store/index.js';
import { IntakeIdempotencyKeys, type IntakeAnswer } from './intake-idempotency-keys.js';

/**
 * The idempotency keys' claims on both engines: the (token, key) primary key decides who files, never
 * a read then a write; keys are hashed and scoped to their token; the window ends.
 */
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: await havePostgres(), url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_intake_keys') },
];
const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const DAY = 86_400_000;
const answer: IntakeAnswer = { report: 'r1', group: 'g1', harmless: false, escalated: false };

for (const engine of engines) {
  describe.runIf(engine.available)(`IntakeIdempotencyKeys (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let keys: IntakeIdempotencyKeys;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-intake-keys-'));
      store = await openStore({ url: await engine.url(dir) });
      keys = new IntakeIdempotencyKeys(store.db, 60_000);
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    let n = 0;
    const ref = (tokenId = 'tok-a') => ({ tokenId, keyHash: hashSecret(`key-${++n}`) });

    it('claims a new key once; the same body then replays the first answer; another body is a mismatch', async () => {
      const key = ref();
      expect(await keys.claim(key, 'body-1', T0, DAY)).toEqual({ kind: 'claimed' });
      expect(await keys.claim(key, 'body-1', T0 + 1, DAY)).toEqual({ kind: 'in_progress' });
      await keys.complete(key, answer);
      expect(await keys.claim(key, 'body-1', T0 + 2, DAY)).toEqual({ kind: 'replay', answer });
      expect(await keys.claim(key, 'body-2', T0 + 3, DAY)).toEqual({ kind: 'mismatch' });
    });

    it('stores the key only as the hash it was given', async () => {
      const key = ref();
      await keys.claim(key, 'body', T0, DAY);
      const rows = await store.db.selectFrom('report_intake_keys').selectAll().where('key_hash', '=', key.keyHash).execute();
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(`key-${n}"`);
    });

    it('scopes a key to its token: the same key under another token is a claim of its own', async () => {
      const a = ref('tok-a');
      const b = { tokenId: 'tok-b', keyHash: a.keyHash };
      expect(await keys.claim(a, 'body-a', T0, DAY)).toEqual({ kind: 'claimed' });
      await keys.complete(a, answer);
      expect(await keys.claim(b, 'body-b', T0, DAY)).toEqual({ kind: 'claimed' });
    });

    it('lets exactly one of many concurrent claims of one key win', async () => {
      const key = ref();
      const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => keys.claim(key, 'same', T0 + i, DAY)));
      expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
      expect(claims.filter((c) => c.kind === 'in_progress')).toHaveLength(11);
    });

    it('forgets a key when its window ends: the same key then files again', async () => {
      const key = ref();
      await keys.claim(key, 'body', T0, DAY);
      await keys.complete(key, answer);
      expect((await keys.claim(key, 'other', T0 + DAY - 1, DAY)).kind).toBe('mismatch');
      expect(await keys.claim(key, 'other', T0 + DAY, DAY)).toEqual({ kind: 'claimed' });
    });

    it('frees a released key (nothing filed) and keeps a completed one', async () => {
      const key = ref();
      await keys.claim(key, 'bad body', T0, DAY);
      await keys.release(key);
      expect(await keys.claim(key, 'fixed body', T0 + 1, DAY)).toEqual({ kind: 'claimed' });
      await keys.complete(key, answer);
      await keys.release(key);
      expect(await keys.claim(key, 'fixed body', T0 + 2, DAY)).toEqual({ kind: 'replay', answer });
    });

    it('lets one retry take over a claim abandoned past the lease (a crash between claim and answer)', async () => {
      const key = ref();
      await keys.claim(key, 'body', T0, DAY);
      expect(await keys.claim(key, 'body', T0 + 59_999, DAY)).toEqual({ kind: 'in_progress' });
      const takeovers = await Promise.all([keys.claim(key, 'body', T0 + 60_000, DAY), keys.claim(key, 'body', T0 + 60_000, DAY)]);
      expect(takeovers.map((c) => c.kind).sort()).toEqual(['claimed', 'in_progress']);
    });
  });
}
