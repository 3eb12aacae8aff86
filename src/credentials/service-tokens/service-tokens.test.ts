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
import { openStore, tailChangeFeed, type Store } from '../../store/index.js';
import { createServiceTokens, type ServiceTokenLogger, type ServiceTokens, type ServiceTokenSettings } from './index.js';

/**
 * The service-token capability against real databases, each line of the attacker model as a refusal
 * with its code: a leaked secret used where it may not go or after it was cut off, a database copy
 * searched for secrets, an old secret after an emergency rotation on another instance, and the logs
 * and audit trail searched for the secret they must never hold.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
const settings: ServiceTokenSettings = { defaultTtlMs: 90 * DAY, maxTtlMs: 365 * DAY, maxOverlapMs: 168 * HOUR, flushMs: 60_000, maxPending: 100 };

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_service_tokens') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`service tokens (${engine.name})`, () => {
    let dir: string;
    let url: string;
    let store: Store;
    let audit: AuditLog;
    let tokens: ServiceTokens;
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
    const logLines: string[] = [];
    const log: ServiceTokenLogger = {
      info: (fields, message) => logLines.push(JSON.stringify({ ...fields, message })),
      warn: (fields, message) => logLines.push(JSON.stringify({ ...fields, message })),
    };
    const secrets: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-service-tokens-'));
      url = await engine.url(dir);
      store = await openStore({ url });
      audit = createAuditLog({ db: store.db, clock });
      tokens = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings, log });
      await tokens.load();
    });
    afterAll(async () => {
      await tokens?.stop();
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const create = async (name: string, extra: { apps?: string[]; ttlMs?: number } = {}) => {
      const issued = await tokens.create({ name, owner: 'Build@Acme.test', description: 'CI deploys', tags: ['ci'], apps: extra.apps ?? ['payroll'], ttlMs: extra.ttlMs, actor: 'admin@acme.test' });
      secrets.push(issued.secret);
      return issued;
    };
    const verify = (clientId: unknown, secret: unknown, app = 'payroll', service = tokens) => service.verify({ clientId, secret, app, now: clock.now() });

    it('creates a token whose secret is 256 random bits, shown once, and accepted for its app', async () => {
      const issued = await create('ci-deploy');
      expect(issued.clientId).toMatch(/^gh-svc-[A-Za-z0-9_-]{22}$/);
      expect(issued.secret).toMatch(/^gh-secret-[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(issued.secret.slice('gh-secret-'.length), 'base64url')).toHaveLength(32);
      expect(issued.token).toMatchObject({ name: 'ci-deploy', owner: 'build@acme.test', apps: ['payroll'], tags: ['ci'], status: 'active', expiresAt: clock.now() + 90 * DAY });
      const verdict = verify(issued.clientId, issued.secret);
      expect(verdict).toMatchObject({ ok: true, usedPreviousSecret: false, token: { name: 'ci-deploy', clientId: issued.clientId } });
    });

    it('keeps no secret in the database: the row holds its SHA-256 only', async () => {
      const issued = await create('db-copy');
      const row = await store.db.selectFrom('service_tokens').selectAll().where('name', '=', 'db-copy').executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(issued.secret);
      expect(JSON.stringify(row)).not.toContain(issued.secret.slice('gh-secret-'.length));
      expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
      // Someone with the copy presents the digest as the secret: refused.
      expect(verify(issued.clientId, `gh-secret-${Buffer.from(row.secret_hash, 'hex').toString('base64url').padEnd(43, 'A')}`)).toEqual(expect.objectContaining({ ok: false, code: 'service_token_bad_secret' }));
    });

    it('refuses a wrong secret, an unknown client id and a token for another app, each with its code', async () => {
      const issued = await create('scoped', { apps: ['payroll'] });
      const other = await create('other-token');
      expect(verify(issued.clientId, other.secret)).toMatchObject({ ok: false, code: 'service_token_bad_secret' });
      expect(verify(`gh-svc-${'A'.repeat(22)}`, issued.secret)).toEqual({ ok: false, code: 'service_token_unknown' });
      expect(verify(issued.clientId, issued.secret, 'wiki')).toMatchObject({ ok: false, code: 'service_token_app_not_allowed' });
    });

    it('refuses malformed presentations before hashing: each shape', async () => {
      const issued = await create('shapes');
      const cases: [unknown, unknown][] = [
        [undefined, issued.secret],
        [issued.clientId, undefined],
        ['', issued.secret],
        [issued.clientId, ''],
        [issued.clientId + 'x', issued.secret],
        [issued.clientId, issued.secret.slice(0, -1)],
        [issued.clientId, `${issued.secret}, ${issued.secret}`], // the header sent twice
        [`${issued.clientId}, ${issued.clientId}`, issued.secret],
        [issued.clientId, 'x'.repeat(1_000_000)],
        [issued.clientId, issued.secret.slice(0, -1) + 'é'],
        [issued.clientId, issued.secret.slice(0, -1) + '\n'],
        [issued.clientId, issued.secret.replace('gh-secret-', 'gh-secrex-')],
        [issued.clientId.replace('gh-svc-', 'gh_svc_'), issued.secret],
        [[issued.clientId], issued.secret],
        [issued.clientId, Buffer.from(issued.secret)],
      ];
      for (const [clientId, secret] of cases) expect(verify(clientId, secret)).toEqual({ ok: false, code: 'service_token_malformed' });
    });

    it('refuses an expired token, and a lifetime over the maximum names the maximum', async () => {
      const issued = await create('short-lived', { ttlMs: DAY });
      expect(verify(issued.clientId, issued.secret).ok).toBe(true);
      clock.advance(DAY);
      expect(verify(issued.clientId, issued.secret)).toMatchObject({ ok: false, code: 'service_token_expired' });
      const tooLong = create('too-long', { ttlMs: 400 * DAY });
      await expect(tooLong).rejects.toMatchObject({ code: 'service_token_ttl_too_long' });
      await expect(tooLong).rejects.toThrow('maximum of 365 days (service_tokens.max_ttl_days)');
      expect(await store.db.selectFrom('service_tokens').select('id').where('name', '=', 'too-long').executeTakeFirst()).toBeUndefined();
    });

    it('suspends and resumes; revocation is final and resume after it is refused', async () => {
      const issued = await create('lifecycle');
      await tokens.suspend('lifecycle', { actor: 'admin@acme.test', reason: 'investigating' });
      expect(verify(issued.clientId, issued.secret)).toMatchObject({ ok: false, code: 'service_token_suspended' });
      await tokens.resume('lifecycle', { actor: 'admin@acme.test' });
      expect(verify(issued.clientId, issued.secret).ok).toBe(true);
      await tokens.revoke('lifecycle', { actor: 'admin@acme.test', reason: 'leaked' });
      expect(verify(issued.clientId, issued.secret)).toMatchObject({ ok: false, code: 'service_token_revoked' });
      await expect(tokens.resume('lifecycle', { actor: 'admin@acme.test' })).rejects.toMatchObject({ code: 'service_token_revoked_final' });
      await expect(tokens.suspend('lifecycle', { actor: 'admin@acme.test' })).rejects.toMatchObject({ code: 'service_token_revoked_final' });
      await expect(tokens.rotate('lifecycle', { emergency: true, actor: 'admin@acme.test' })).rejects.toMatchObject({ code: 'service_token_revoked_final' });
      expect(verify(issued.clientId, issued.secret)).toMatchObject({ ok: false, code: 'service_token_revoked' });
      // A wrong secret for a revoked token says bad secret: the state is told only to the secret's holder.
      expect(verify(issued.clientId, secrets[0])).toMatchObject({ ok: false, code: 'service_token_bad_secret' });
    });

    it('refuses bad names, owners, apps and duplicate names with their codes', async () => {
      await create('unique-name');
      await expect(create('unique-name')).rejects.toMatchObject({ code: 'service_token_name_taken' });
      await expect(tokens.create({ name: 'Bad Name', owner: 'a@acme.test', apps: ['payroll'], actor: 'x' })).rejects.toMatchObject({ code: 'service_token_invalid_input' });
      await expect(tokens.create({ name: 'no-owner', owner: 'nobody', apps: ['payroll'], actor: 'x' })).rejects.toMatchObject({ code: 'service_token_invalid_input' });
      await expect(tokens.create({ name: 'no-apps', owner: 'a@acme.test', apps: [], actor: 'x' })).rejects.toMatchObject({ code: 'service_token_invalid_input' });
      await expect(tokens.create({ name: 'ctl', owner: 'a@acme.test', apps: ['payroll'], description: 'a\u202eb', actor: 'x' })).rejects.toMatchObject({ code: 'service_token_invalid_input' });
      await expect(tokens.show('ghost')).rejects.toMatchObject({ code: 'service_token_not_found' });
      await expect(tokens.revoke('ghost', { actor: 'x' })).rejects.toMatchObject({ code: 'service_token_not_found' });
    });

    it('rotation with an overlap: the new secret works at once, the old one until the overlap ends', async () => {
      const first = await create('overlapping');
      const overlapUntil = clock.now() + 2 * HOUR;
      const second = await tokens.rotate('overlapping', { overlapUntil, actor: 'admin@acme.test' });
      secrets.push(second.secret);
      expect(second.clientId).toBe(first.clientId);
      expect(verify(first.clientId, second.secret)).toMatchObject({ ok: true, usedPreviousSecret: false });
      expect(verify(first.clientId, first.secret)).toMatchObject({ ok: true, usedPreviousSecret: true });
      clock.advance(2 * HOUR);
      expect(verify(first.clientId, first.secret)).toMatchObject({ ok: false, code: 'service_token_bad_secret' });
      expect(verify(first.clientId, second.secret).ok).toBe(true);
      await expect(tokens.rotate('overlapping', { overlapUntil: clock.now() + 200 * HOUR, actor: 'x' })).rejects.toMatchObject({ code: 'service_token_overlap_invalid' });
      await expect(tokens.rotate('overlapping', { overlapUntil: clock.now() - 1, actor: 'x' })).rejects.toMatchObject({ code: 'service_token_overlap_invalid' });
      await expect(tokens.rotate('overlapping', { emergency: true, ttlMs: 400 * DAY, actor: 'x' })).rejects.toMatchObject({ code: 'service_token_ttl_too_long' });
    });

    it('emergency rotation and revocation: a second instance refuses the old secret as soon as it applies the feed row', async () => {
      const otherStore = await openStore({ url });
      const otherAudit = createAuditLog({ db: otherStore.db, clock });
      const other = createServiceTokens({ store: otherStore, clock, random: cryptoRandom, audit: otherAudit, settings });
      const tail = await tailChangeFeed({ store: otherStore, pollMs: 3_600_000, clock, onChange: (change) => other.applyChange(change) });
      try {
        const issued = await create('breached');
        await other.load();
        expect(verify(issued.clientId, issued.secret, 'payroll', other).ok).toBe(true);
        const rotated = await tokens.rotate('breached', { emergency: true, actor: 'responder@acme.test' });
        secrets.push(rotated.secret);
        expect(verify(issued.clientId, issued.secret)).toMatchObject({ ok: false, code: 'service_token_bad_secret' }); // this instance: at once
        await tail.pollNow();
        expect(verify(issued.clientId, issued.secret, 'payroll', other)).toMatchObject({ ok: false, code: 'service_token_bad_secret' });
        expect(verify(issued.clientId, rotated.secret, 'payroll', other).ok).toBe(true);
        await tokens.revoke('breached', { actor: 'responder@acme.test', reason: 'incident' });
        await tail.pollNow();
        expect(verify(issued.clientId, rotated.secret, 'payroll', other)).toMatchObject({ ok: false, code: 'service_token_revoked' });
        // A token created on this instance reaches the other one through the feed as well.
        const fresh = await create('fresh-from-feed');
        await tail.pollNow();
        expect(verify(fresh.clientId, fresh.secret, 'payroll', other).ok).toBe(true);
      } finally {
        await tail.stop();
        await otherStore.close();
      }
    });

    it('marks a token believed unused: it keeps working, the verdict says so, and the mark is audited', async () => {
      const issued = await create('forgotten');
      await tokens.markBelievedUnused('forgotten', { believedUnused: true, actor: 'owner@acme.test' });
      expect(verify(issued.clientId, issued.secret)).toMatchObject({ ok: true, token: { believedUnused: true } });
      const event = await store.db.selectFrom('audit_events').select(['actor', 'detail']).where('type', '=', 'service_token.believed_unused').executeTakeFirstOrThrow();
      expect(event.actor).toBe('owner@acme.test');
      expect(JSON.parse(event.detail)).toMatchObject({ name: 'forgotten', believedUnused: true });
      await tokens.markBelievedUnused('forgotten', { believedUnused: false, actor: 'owner@acme.test' });
      expect(verify(issued.clientId, issued.secret)).toMatchObject({ ok: true, token: { believedUnused: false } });
    });

    it('ignores a feed row older than the state it holds', async () => {
      const issued = await create('ordering');
      const feedRows = async () => (await store.db.selectFrom('change_feed').select(['id', 'at', 'kind', 'payload']).where('kind', '=', 'service_token.changed').orderBy('id').execute()).map((r) => ({ id: Number(r.id), at: Number(r.at), kind: r.kind, payload: JSON.parse(r.payload) as Record<string, unknown> }));
      const created = (await feedRows()).filter((r) => r.payload.name === 'ordering');
      await tokens.suspend('ordering', { actor: 'x' });
      for (const row of created) tokens.applyChange(row); // replayed late: version 1 < 2
      expect(verify(issued.clientId, issued.secret)).toMatchObject({ ok: false, code: 'service_token_suspended' });
    });

    it('audits every change with its actor and never the secret; no log line holds it either', async () => {
      const events = await store.db.selectFrom('audit_events').select(['type', 'actor', 'detail']).where('type', 'like', 'service_token.%').orderBy('seq').execute();
      const types = new Set(events.map((e) => e.type));
      for (const type of ['service_token.created', 'service_token.rotated', 'service_token.revoked', 'service_token.suspended', 'service_token.resumed']) expect(types).toContain(type);
      for (const event of events) expect(event.actor).toMatch(/@acme\.test$|^x$/);
      const allAudit = JSON.stringify(await store.db.selectFrom('audit_events').selectAll().execute());
      const allFeed = JSON.stringify(await store.db.selectFrom('change_feed').selectAll().execute());
      const allTokens = JSON.stringify(await store.db.selectFrom('service_tokens').selectAll().execute());
      expect(secrets.length).toBeGreaterThan(5);
      expect(logLines.length).toBeGreaterThan(0);
      for (const secret of secrets) {
        const body = secret.slice('gh-secret-'.length);
        for (const text of [allAudit, allFeed, allTokens, ...logLines]) expect(text).not.toContain(body);
      }
      expect(allAudit).not.toContain('secret_hash');
      expect(allAudit).not.toContain('secretHash');
    });

    it('records last use in memory and writes one UPDATE per token per flush, and on stop', async () => {
      let updates = 0;
      const counting: KyselyPlugin = {
        transformQuery: (args) => {
          if (args.node.kind === 'UpdateQueryNode') updates++;
          return args.node;
        },
        transformResult: async (args) => args.result,
      };
      const countedStore = { ...store, db: store.db.withPlugin(counting) } as Store;
      const recorderHost = createServiceTokens({ store: countedStore, clock, random: cryptoRandom, audit, settings, log });
      await recorderHost.load();
      const a = await create('use-a');
      const b = await create('use-b');
      await recorderHost.load();
      const t0 = clock.now();
      for (let i = 0; i < 100; i++) recorderHost.recordUse({ clientId: a.clientId, at: t0 + i, clientAddress: `198.51.100.${i % 200}`, app: 'payroll', userAgent: 'curl/8.5' });
      for (let i = 0; i < 50; i++) recorderHost.recordUse({ clientId: b.clientId, at: t0 + i, clientAddress: '2001:db8:aa:1::5', app: 'payroll', userAgent: `bot\u0000\u001b[31m${'x'.repeat(500)}` });
      recorderHost.recordUse({ clientId: `gh-svc-${'B'.repeat(22)}`, at: t0, clientAddress: '192.0.2.1', app: 'payroll' }); // unknown: ignored
      expect(updates).toBe(0); // nothing written on the request path
      expect(await recorderHost.flushUse()).toBe(2);
      expect(updates).toBe(2);
      expect(await recorderHost.flushUse()).toBe(0); // nothing pending: nothing written
      expect(updates).toBe(2);
      const rowA = await tokens.show('use-a');
      expect(rowA).toMatchObject({ lastUsedAt: t0 + 99, lastUsedIp: '198.51.100.99', lastUsedApp: 'payroll', lastUsedUserAgent: 'curl/8.5' });
      const rowB = await tokens.show('use-b');
      expect(rowB.lastUsedUserAgent).toMatch(/^bot\[31mx+$/);
      expect(rowB.lastUsedUserAgent!.length).toBe(256);
      expect((await tokens.sightings('use-b')).map((s) => `${s.kind}:${s.value}`).sort()).toEqual(['app:payroll', 'network:2001:db8:aa::/48']);
      expect((await tokens.sightings('use-a')).filter((s) => s.kind === 'network').map((s) => s.value)).toEqual(['198.51.100.0/24']);
      // An older use flushed later (another instance) never moves last use backwards.
      recorderHost.recordUse({ clientId: a.clientId, at: t0 - 1000, clientAddress: '203.0.113.9', app: 'payroll' });
      recorderHost.recordUse({ clientId: b.clientId, at: t0 + 500, clientAddress: '203.0.113.10', app: 'payroll' });
      await recorderHost.stop(); // writes what is pending
      expect(updates).toBe(4);
      expect((await tokens.show('use-a')).lastUsedAt).toBe(t0 + 99);
      expect(await tokens.show('use-b')).toMatchObject({ lastUsedAt: t0 + 500, lastUsedIp: '203.0.113.10' });
      expect((await tokens.sightings('use-a')).map((s) => s.value)).toContain('203.0.113.0/24');
    });

    it('holds a bounded number of tokens between writes', async () => {
      const small = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings: { ...settings, maxPending: 16 } });
      const issued = [];
      for (let i = 0; i < 20; i++) issued.push(await create(`bounded-${i}`));
      await small.load();
      for (const t of issued) small.recordUse({ clientId: t.clientId, at: clock.now(), clientAddress: '192.0.2.7', app: 'payroll' });
      await small.stop();
      const used = (await tokens.list()).filter((t) => t.name.startsWith('bounded-') && t.lastUsedAt !== undefined);
      expect(used.length).toBe(20); // the 17th use started a write and took its place in a fresh batch
    });
  });
}
