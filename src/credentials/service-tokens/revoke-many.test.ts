import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAuditLog, verifyAuditChain } from '../../audit/index.js';
import { ManualClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { openStore, type Store } from '../../store/index.js';
import { createServiceTokens, type IssuedServiceToken, type ServiceTokenSettings } from './index.js';

/**
 * A bulk revocation larger than one feed row holds: every token is revoked and audited in one
 * transaction, the feed carries them in rows of 500, and another instance that applies those rows
 * refuses every one of them (and only them).
 */
const DAY = 86_400_000;
const settings: ServiceTokenSettings = { defaultTtlMs: 90 * DAY, maxTtlMs: 365 * DAY, maxOverlapMs: 7 * DAY, flushMs: 60_000, maxPending: 100 };
const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-revoke-many-'));
  store = await openStore({ url: `sqlite:${join(dir, 'store.db')}` });
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('revokes 1,050 tokens in one call: 1,050 audit events, three feed rows, all refused by another instance', async () => {
  const audit = createAuditLog({ db: store.db, clock });
  const a = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings });
  const b = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings });
  const leaked: IssuedServiceToken[] = [];
  for (let i = 0; i < 1050; i++) leaked.push(await a.create({ name: `leaked-${i}`, owner: 'ci@acme.test', apps: ['deploy'], tags: ['ci'], actor: 'admin' }));
  const kept = await a.create({ name: 'kept', owner: 'ci@acme.test', apps: ['deploy'], tags: ['other'], actor: 'admin' });
  await b.load();
  const verifyOn = (instance: typeof b, token: IssuedServiceToken) => instance.verify({ clientId: token.clientId, secret: token.secret, app: 'deploy', now: clock.now() });
  expect(verifyOn(b, leaked[1049]!).ok).toBe(true);
  const before = await store.db.selectFrom('change_feed').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();

  const result = await a.revokeMany({ tag: 'ci' }, { actor: 'responder', reason: 'leaked' });
  expect(result).toMatchObject({ matched: 1050, alreadyRevoked: 0 });
  expect(result.revoked).toHaveLength(1050);

  const feed = await store.db.selectFrom('change_feed').selectAll().where('id', '>', Number(before?.max ?? 0)).orderBy('id').execute();
  expect(feed.map((row) => [row.kind, (JSON.parse(row.payload) as { states: unknown[] }).states.length])).toEqual([
    ['service_token.changed_many', 500],
    ['service_token.changed_many', 500],
    ['service_token.changed_many', 50],
  ]);
  expect(feed.map((row) => row.payload).join('')).not.toContain(leaked[0]!.secret);
  for (const row of feed) b.applyChange({ id: Number(row.id), at: Number(row.at), kind: row.kind, payload: JSON.parse(row.payload) as Record<string, unknown> });
  const codes = new Set(
    leaked.map((token) => {
      const verdict = verifyOn(b, token);
      return verdict.ok ? 'accepted' : verdict.code;
    }),
  );
  expect(codes).toEqual(new Set(['service_token_revoked']));
  expect(verifyOn(b, kept).ok).toBe(true);
  expect(verifyOn(a, leaked[0]!)).toMatchObject({ ok: false, code: 'service_token_revoked' });

  const revokedEvents = await store.db.selectFrom('audit_events').select(['detail', 'actor']).where('type', '=', 'service_token.revoked').execute();
  expect(revokedEvents).toHaveLength(1050);
  expect(new Set(revokedEvents.map((e) => (JSON.parse(e.detail) as { name: string }).name)).size).toBe(1050);
  expect(revokedEvents.every((e) => e.actor === 'responder')).toBe(true);
  expect((await verifyAuditChain(store.db)).ok).toBe(true);

  // Again: nothing left to revoke in scope; a tag nobody has is refused by code.
  expect(await a.revokeMany({ tag: 'ci' }, { actor: 'responder' })).toMatchObject({ matched: 1050, revoked: [], alreadyRevoked: 1050 });
  await expect(a.revokeMany({ tag: 'nobody' }, { actor: 'responder' })).rejects.toMatchObject({ code: 'service_token_not_found' });
  await expect(a.revokeMany({ owner: 'not an email' }, { actor: 'responder' })).rejects.toMatchObject({ code: 'service_token_invalid_input' });
});
