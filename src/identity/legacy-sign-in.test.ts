/**
 * The legacy password(+TOTP) form against a sprayer and a phishing relay: every refusal looks the same
 * (status, message, one argon2id verification) with the reason in the audit log only; failures are
 * counted per account in the store, shared by every instance; username-first options do not tell a
 * made-up email from a real one. On SQLite and on PostgreSQL, with two instances on one database.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { coreConfigYaml, openCoreFixture, type CoreFixture } from '../../test/support/core-fixture.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { parseConfig } from '../config/index.js';
import type { GatehouseCore } from '../core.js';
import { ManualClock } from '../lib/clock.js';
import { isGatehouseError } from '../lib/errors.js';
import { LegacyFactors } from './legacy-factors.js';
import { pruneSignInThrottle } from './sign-in-throttle.js';

const PASSWORD = 'correct horse battery';
const WRONG = 'not the password!';
const LOCKOUT_MS = 15 * 60_000; // identity.legacy.lockout_minutes default
const MAX_FAILURES = 10; // identity.legacy.max_failures default
const LEGACY_YAML = 'identity:\n  legacy: { password: true, totp: true }\n';
const request = (n = 0) => ({ ip: `198.51.100.${n + 1}`, userAgent: 'vitest' });

interface Refusal {
  code: string;
  status: number;
  message: string;
}

async function refusalOf(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (isGatehouseError(error)) return { code: error.code, status: error.status, message: error.publicMessage };
    throw error;
  }
  throw new Error('expected a refusal');
}

const pgAvailable = await havePostgres();
const engines = [
  { name: 'sqlite', available: true, url: async () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-legacy-')), 'store.db')}` },
  { name: 'postgres', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_legacy_sign_in') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`legacy sign-in against sprayers and relays (${engine.name})`, () => {
    let url: string;
    let clock: ManualClock;
    let a: CoreFixture;
    let b: CoreFixture; // a second instance on the same database
    beforeEach(async () => {
      url = await engine.url();
      clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
      a = await openCoreFixture({ databaseUrl: url, extraYaml: LEGACY_YAML, clock });
      b = await openCoreFixture({ databaseUrl: url, extraYaml: LEGACY_YAML, clock });
    });
    afterEach(async () => {
      await b?.close();
      await a?.close();
      if (engine.name === 'sqlite') rmSync(join(url.slice('sqlite:'.length), '..'), { recursive: true, force: true });
    });

    async function legacyUser(email: string, options: { key?: boolean; totp?: boolean } = {}) {
      const { identity } = a.core;
      const user = await identity.users.add({ email });
      await identity.legacy.setPassword(user.id, PASSWORD);
      const secret = options.totp === false ? undefined : await identity.legacy.enrollTotp(user.id);
      if (options.key) await addKey(user.id);
      return { user, secret };
    }

    async function addKey(userId: string) {
      await a.core.identity.credentials.add({
        id: randomBytes(32).toString('base64url'),
        userId,
        name: 'Blue key',
        publicKey: new Uint8Array(77),
        counter: 0,
        aaguid: '00000000-0000-0000-0000-000000000000',
        transports: ['nfc', 'usb'],
        authenticatorClass: 'hwk',
        backedUp: false,
      });
    }

    const code = (secret: string | undefined) => LegacyFactors.codeFor(secret ?? '', clock.now());
    const attempt = (core: GatehouseCore, email: string, password: string, totp: string, n = 0) =>
      refusalOf(core.identity.legacySignIn({ email, password, code: totp }, request(n)));
    const signIn = async (core: GatehouseCore, email: string, secret: string | undefined) =>
      core.identity.legacySignIn({ email, password: PASSWORD, code: await code(secret) }, request());
    const auditCodes = async (userId?: string) =>
      (await a.core.audit.list({ type: 'sign_in', ...(userId ? { userId } : {}), limit: 1000 })).reverse().map((e) => (e.outcome === 'failure' ? e.code : e.outcome));

    it('a key holder is refused before the password is checked: the right and a wrong password get the same answer', async () => {
      const { user, secret } = await legacyUser('sam@acme.test', { key: true });
      const plain = await legacyUser('pat@acme.test');
      const verify = vi.spyOn(a.core.identity.legacy, 'verifyPassword');
      const right = await attempt(a.core, 'sam@acme.test', PASSWORD, await code(secret));
      const wrong = await attempt(a.core, 'sam@acme.test', WRONG, '000000');
      const otherWrong = await attempt(a.core, 'pat@acme.test', WRONG, '000000');
      expect(right).toEqual({ code: 'legacy_downgrade_refused', status: 401, message: 'Sign-in failed. Try again.' });
      expect(wrong).toEqual(right);
      expect({ ...otherWrong, code: right.code }).toEqual(right);
      expect(otherWrong.code).toBe('bad_credentials');
      // The key holder's password was never compared, yet an argon2id verification ran (the decoy).
      expect(verify.mock.calls.map(([id, password]) => [id, password])).toEqual([
        [undefined, PASSWORD],
        [undefined, WRONG],
        [plain.user.id, WRONG],
      ]);
      expect(await auditCodes(user.id)).toEqual(['legacy_downgrade_refused', 'legacy_downgrade_refused']);
      expect(await auditCodes(plain.user.id)).toEqual(['bad_credentials']);
      // The right TOTP code was not spent by the refused attempt: nothing of the victim's was tried.
      expect(await a.core.identity.legacy.verifyTotp(user.id, await code(secret))).toBe(true);
    });

    it('every refusal is the same 401 and message; the audit log keeps each reason', async () => {
      const { secret } = await legacyUser('rita@acme.test');
      await legacyUser('kim@acme.test', { key: true });
      const { user: off, secret: offSecret } = await legacyUser('dan@acme.test');
      await a.core.identity.setUserStatus(off.id, 'disabled', 'test');
      const refusals = [
        await attempt(a.core, 'ghost@acme.test', WRONG, '000000'),
        await attempt(a.core, 'rita@acme.test', WRONG, await code(secret)),
        await attempt(a.core, 'rita@acme.test', PASSWORD, '000000'),
        await attempt(a.core, 'kim@acme.test', PASSWORD, '000000'),
        await attempt(a.core, 'dan@acme.test', PASSWORD, await code(offSecret)),
      ];
      const fresh = await code(secret);
      await a.core.identity.legacySignIn({ email: 'rita@acme.test', password: PASSWORD, code: fresh }, request());
      refusals.push(await attempt(b.core, 'rita@acme.test', PASSWORD, fresh)); // replayed code (RFC 6238 §5.2)
      for (let i = 0; i < MAX_FAILURES; i++) await attempt(a.core, 'lee@acme.test', WRONG, '000000');
      refusals.push(await attempt(a.core, 'lee@acme.test', WRONG, '000000'));
      const snapshot = a.core.snapshot();
      a.core.setSnapshot({ ...snapshot, config: parseConfig(coreConfigYaml(url, 'identity:\n  legacy: { password: false }\n'), snapshot.path) });
      refusals.push(await attempt(a.core, 'rita@acme.test', PASSWORD, await code(secret)));

      expect(refusals.map((r) => r.code)).toEqual(['bad_credentials', 'bad_credentials', 'bad_totp', 'legacy_downgrade_refused', 'user_disabled', 'bad_totp', 'sign_in_throttled', 'legacy_disabled']);
      expect(new Set(refusals.map((r) => `${r.status} ${r.message}`))).toEqual(new Set(['401 Sign-in failed. Try again.']));
      const codes = await auditCodes();
      for (const reason of ['bad_credentials', 'bad_totp', 'legacy_downgrade_refused', 'user_disabled', 'sign_in_throttled', 'legacy_disabled']) expect(codes).toContain(reason);
    });

    it('40 wrong passwords from 8 addresses across two instances, then the right one: refused (sign_in_throttled)', async () => {
      const { user, secret } = await legacyUser('vic@acme.test');
      const results: string[] = [];
      for (let i = 0; i < 40; i++) results.push((await attempt(i % 2 ? b.core : a.core, 'vic@acme.test', WRONG, '000000', i % 8)).code);
      expect(results.slice(0, MAX_FAILURES)).toEqual(Array(MAX_FAILURES).fill('bad_credentials'));
      expect(results.slice(MAX_FAILURES)).toEqual(Array(40 - MAX_FAILURES).fill('sign_in_throttled'));
      const right = await refusalOf(signIn(b.core, 'vic@acme.test', secret));
      expect(right).toEqual({ code: 'sign_in_throttled', status: 401, message: 'Sign-in failed. Try again.' });
      const audited = await auditCodes(user.id);
      expect(audited.at(-1)).toBe('sign_in_throttled');
      expect(audited.filter((c) => c === 'sign_in_throttled')).toHaveLength(31);
      expect(await a.core.identity.sessions.listForUser(user.id)).toHaveLength(0);
    });

    it('concurrent attempts on two instances cannot slip under the limit together', async () => {
      const { user } = await legacyUser('ivy@acme.test');
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(i % 2 ? b.core : a.core, 'ivy@acme.test', WRONG, '000000', i % 8)));
      expect(results.filter((r) => r.code === 'bad_credentials')).toHaveLength(MAX_FAILURES);
      expect(results.filter((r) => r.code === 'sign_in_throttled')).toHaveLength(30 - MAX_FAILURES);
      expect((await auditCodes(user.id)).filter((c) => c === 'bad_credentials')).toHaveLength(MAX_FAILURES);
    });

    it('a success resets the count', async () => {
      const { user, secret } = await legacyUser('joe@acme.test');
      for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await attempt(a.core, 'joe@acme.test', WRONG, '000000')).code).toBe('bad_credentials');
      await signIn(b.core, 'joe@acme.test', secret);
      clock.advance(30_000); // the next TOTP step: the last code is spent
      for (let i = 0; i < MAX_FAILURES; i++) expect((await attempt(b.core, 'joe@acme.test', WRONG, '000000')).code).toBe('bad_credentials');
      expect((await attempt(a.core, 'joe@acme.test', WRONG, '000000')).code).toBe('sign_in_throttled');
      expect((await auditCodes(user.id)).filter((c) => c === 'success')).toHaveLength(1);
    });

    it('the lockout ends with its window, and the right password works again', async () => {
      const { user, secret } = await legacyUser('amy@acme.test');
      for (let i = 0; i < MAX_FAILURES; i++) await attempt(a.core, 'amy@acme.test', WRONG, '000000');
      clock.advance(LOCKOUT_MS - 1);
      expect((await refusalOf(signIn(a.core, 'amy@acme.test', secret))).code).toBe('sign_in_throttled');
      clock.advance(1);
      const { session } = await signIn(b.core, 'amy@acme.test', secret);
      expect(session.userId).toBe(user.id);
    });

    it('unknown emails are throttled too, and no email is stored in the clear', async () => {
      for (let i = 0; i < MAX_FAILURES; i++) expect((await attempt(a.core, 'Ghost@Acme.test ', WRONG, '000000', i)).code).toBe('bad_credentials');
      expect((await attempt(b.core, 'ghost@acme.test', WRONG, '000000')).code).toBe('sign_in_throttled');
      const rows = await a.core.store.db.selectFrom('sign_in_throttle').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(Number(rows[0]!.failures)).toBe(MAX_FAILURES + 1);
      expect(JSON.stringify(rows)).not.toMatch(/ghost|acme/i);
      clock.advance(LOCKOUT_MS);
      expect(await pruneSignInThrottle({ db: a.core.store.db, clock }, LOCKOUT_MS)).toBe(1);
      expect(await a.core.store.db.selectFrom('sign_in_throttle').selectAll().execute()).toEqual([]);
    });

    it('username-first options for an unknown email have the shape of a real user’s (transports included)', async () => {
      const { user } = await legacyUser('kai@acme.test', { key: true });
      await addKey(user.id);
      const known = await a.core.identity.startSignIn({ email: 'kai@acme.test' });
      const shapeOf = (options: typeof known.options) =>
        options.allowCredentials!.map((c) => ({ keys: Object.keys(c).sort(), idLength: c.id.length, transports: Array.isArray(c.transports) && c.transports.length > 0 }));
      const decoys = new Set<number>();
      for (const email of ['nobody@acme.test', 'no-one@acme.test', 'nemo@acme.test', 'ghost@acme.test', 'x@acme.test', 'y@acme.test']) {
        const unknown = await a.core.identity.startSignIn({ email });
        const again = await b.core.identity.startSignIn({ email: email.toUpperCase() });
        expect(Object.keys(unknown.options).sort()).toEqual(Object.keys(known.options).sort());
        expect(shapeOf(unknown.options)[0]).toEqual(shapeOf(known.options)[0]);
        expect(again.options.allowCredentials).toEqual(unknown.options.allowCredentials); // stable per email, on every instance
        decoys.add(unknown.options.allowCredentials!.length);
      }
      expect([...decoys].every((n) => n === 1 || n === 2)).toBe(true);
      // A known user without a key gets decoys as well: the options never say who has a key.
      await legacyUser('lou@acme.test');
      const keyless = await a.core.identity.startSignIn({ email: 'lou@acme.test' });
      expect(shapeOf(keyless.options)[0]).toEqual(shapeOf(known.options)[0]);
    });
  });
}
