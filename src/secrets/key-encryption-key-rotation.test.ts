/**
 * Sealing at rest on real SQLite and PostgreSQL: the upgrade of a database written before sealing,
 * a KEK rotation interrupted at every step, and what a copy of the database can do without the key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreConfigYaml, openCoreFixture } from '../../test/support/core-fixture.js';
import { codeOf } from '../../test/support/error-code.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { OTHER_KEY_ENCRYPTION_KEY, testSealer } from '../../test/support/test-kek.js';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { loadCheckpointKey, readAuditHead, queryAudit } from '../audit/index.js';
import { parseConfig } from '../config/index.js';
import { createDatabaseSigningKeyStore, createSigningKeyRing } from '../credentials/index.js';
import { LegacyFactors } from '../identity/index.js';
import { ManualClock } from '../lib/clock.js';
import { cryptoRandom } from '../lib/random.js';
import { startGatehouse } from '../main.js';
import type { Database } from '../store/index.js';
import {
  createKeyEncryptionKeyFile,
  createSecretSealer,
  createUnavailableSealer,
  isSealedValue,
  listSealedValues,
  openSecretSealer,
  readKeyEncryptionKeyFile,
  rotateKeyEncryptionKey,
  sealedKeyIdOf,
  type RotationStep,
  type SecretSealer,
} from './index.js';

const pgAvailable = await havePostgres();
const engines = [
  { name: 'sqlite', available: true, url: async (dir: string) => `sqlite:${join(dir, 'kek.db')}` },
  { name: 'postgres', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_kek_rotation') },
];

/** Opens every sealed value, loads the signing key ring and verifies a TOTP code: "everything works". */
async function opensEverything(db: Kysely<Database>, sealer: SecretSealer, clock: ManualClock, totp: { userId: string; secret: string }): Promise<void> {
  for (const item of await listSealedValues(db)) sealer.unseal(item.value, item.context);
  const ring = createSigningKeyRing({ store: createDatabaseSigningKeyStore(db, sealer), clock, random: cryptoRandom });
  await ring.refresh();
  expect(ring.signingKey().kid).toEqual(expect.any(String));
  expect((await loadCheckpointKey(db, cryptoRandom, sealer)).fingerprint).toMatch(/^SHA256:/);
  clock.advance(30_000);
  expect(await new LegacyFactors(db, clock, sealer).verifyTotp(totp.userId, await LegacyFactors.codeFor(totp.secret, clock.now()))).toBe(true);
}

for (const engine of engines) {
  describe.runIf(engine.available)(`key-encryption key: ${engine.name}`, () => {
    let dir: string;
    let url: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-kek-db-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('upgrade: the first open with a KEK seals legacy plaintext in place, once, audited; a wrong KEK is refused; serve refuses without one', async () => {
      url = await engine.url(dir);
      const clock = new ManualClock(Date.UTC(2026, 5, 1));
      // A database as an older Gatehouse left it: private keys in the clear.
      const legacy = await openCoreFixture({ databaseUrl: url, clock, sealer: createUnavailableSealer() });
      const { db } = legacy.core.store;
      const user = await legacy.core.identity.users.add({ email: 'totp@acme.test' });
      const totp = { userId: user.id, secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' };
      await db.insertInto('legacy_factors').values({ user_id: user.id, password_hash: null, totp_secret: totp.secret, totp_last_step: null, updated_at: 0 }).execute();
      const jwk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
      const { d: _d, ...publicJwk } = jwk;
      await db.insertInto('signing_keys').values({ kid: 'legacy-kid', alg: 'ES256', private_jwk: JSON.stringify(jwk), public_jwk: JSON.stringify(publicJwk), created_at: 0, activates_at: 0, retires_at: null }).execute();
      const pkcs8 = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url');
      await db.insertInto('settings').values({ key: 'audit_checkpoint_key', value: pkcs8 }).execute();
      const legacyHead = await readAuditHead(db);
      await legacy.core.close();

      const upgraded = await openCoreFixture({ databaseUrl: url, clock, sealer: testSealer() });
      const udb = upgraded.core.store.db;
      expect(upgraded.core.sealedAtOpen).toEqual({ sealed: { 'signing_keys.private_jwk': 1, 'settings.value': 1, 'legacy_factors.totp_secret': 1, 'ssh_certificate_authorities.private_key': 0 }, total: 3 });
      const values = await listSealedValues(udb);
      expect(values.map((item) => item.context).sort()).toEqual(['audit-checkpoint-key', 'jwt-signing-key:legacy-kid', 'kek-canary', 'server-secret', `totp:${user.id}`]);
      expect(values.every((item) => isSealedValue(item.value))).toBe(true);
      expect(JSON.stringify(values)).not.toContain(totp.secret);
      expect(JSON.stringify(values)).not.toContain(String(jwk.d));
      expect(await queryAudit(udb, { type: 'secrets.sealed_at_rest' })).toMatchObject([{ actor: 'system', detail: { signing_keys: 1, settings: 1, totp_secrets: 1 } }]);
      // The checkpoint key keeps its identity: its public half was written before it was sealed.
      expect(legacyHead.checkpointKey).toMatch(/^SHA256:[0-9a-f]{64}$/);
      expect((await readAuditHead(udb)).checkpointKey).toBe(legacyHead.checkpointKey);
      await opensEverything(udb, upgraded.core.secrets, clock, totp);
      const ring = createSigningKeyRing({ store: createDatabaseSigningKeyStore(udb, upgraded.core.secrets), clock, random: cryptoRandom });
      await ring.refresh();
      expect(ring.jwks().keys[0]).toMatchObject({ kid: 'legacy-kid', x: jwk.x, y: jwk.y });
      await upgraded.core.close();

      const again = await openCoreFixture({ databaseUrl: url, clock, sealer: testSealer() });
      expect(again.core.sealedAtOpen?.total).toBe(0);
      expect(await queryAudit(again.core.store.db, { type: 'secrets.sealed_at_rest' })).toHaveLength(1);
      await again.core.close();

      // The wrong key file: refused at open, before anything reads a key.
      expect(await codeOf(openCoreFixture({ databaseUrl: url, clock, sealer: testSealer(OTHER_KEY_ENCRYPTION_KEY) }))).toBe('kek_mismatch');

      // A copy of the database without the KEK: the CLI can still open it and verify the audit log
      // (public keys only), but cannot load a signing key, sign a checkpoint or check a TOTP code.
      const copy = await openCoreFixture({ databaseUrl: url, clock, sealer: createUnavailableSealer() });
      const cdb = copy.core.store.db;
      expect((await readAuditHead(cdb)).checkpointKey).toBe(legacyHead.checkpointKey);
      expect(await codeOf(createSigningKeyRing({ store: createDatabaseSigningKeyStore(cdb, copy.core.secrets), clock, random: cryptoRandom }).refresh())).toBe('kek_not_configured');
      expect(await codeOf(loadCheckpointKey(cdb, cryptoRandom, copy.core.secrets))).toBe('kek_not_configured');
      expect(await codeOf(copy.core.identity.legacy.verifyTotp(user.id, '123456'))).toBe('kek_not_configured');
      await copy.core.close();

      // `serve` fails closed without a KEK, saying how to create one.
      const config = parseConfig(coreConfigYaml(url).replace(/ {2}key_encryption_key: .*\n/, ''), join(dir, 'gatehouse.yaml'));
      const serve = startGatehouse({ snapshot: { config, path: join(dir, 'gatehouse.yaml'), baseDir: dir, loadedAt: 0 }, clock, logDestination: new Writable({ write: (_c, _e, done) => done() }) });
      const failure = await serve.catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'kek_not_configured', publicMessage: expect.stringContaining('gatehouse secrets init-kek') });
    });

    it('rotation: a crash after any step leaves a key file that opens everything; a finished one drops the old key', async () => {
      const clock = new ManualClock(Date.UTC(2026, 6, 1));
      const path = join(dir, `kek-${engine.name}.json`);
      createKeyEncryptionKeyFile(path, { random: cryptoRandom, clock });
      const original = readKeyEncryptionKeyFile(path);
      const running = openSecretSealer({ key_encryption_key_file: path }, dir, cryptoRandom);
      const fx = await openCoreFixture({ databaseUrl: await engine.url(mkdtempSync(join(dir, 'rotation-'))), clock, sealer: running });
      const { db } = fx.core.store;
      const user = await fx.core.identity.users.add({ email: `rot-${engine.name}@acme.test` });
      const totp = { userId: user.id, secret: await fx.core.identity.legacy.enrollTotp(user.id) };
      await createSigningKeyRing({ store: createDatabaseSigningKeyStore(db, running), clock, random: cryptoRandom }).ensureKey();
      await loadCheckpointKey(db, cryptoRandom, running);
      await opensEverything(db, running, clock, totp);

      for (const crashAt of ['new-key-added', 'resealing', 'resealed'] as RotationStep[]) {
        const crash = rotateKeyEncryptionKey({ db, path, random: cryptoRandom, clock, audit: fx.core.audit, afterStep: (step) => {
          if (step === crashAt) throw new Error(`crash at ${step}`);
        } });
        await expect(crash).rejects.toThrow(`crash at ${crashAt}`);
        // What a restart would read: the file as left on disk.
        await opensEverything(db, openSecretSealer({ key_encryption_key_file: path }, dir, cryptoRandom), clock, totp);
      }
      // The mid-transaction crash rolled back; the one after the re-seal left every value under the newest key.
      const afterCrashes = readKeyEncryptionKeyFile(path);
      expect(afterCrashes.keys.length).toBeGreaterThan(1);

      const result = await rotateKeyEncryptionKey({ db, path, random: cryptoRandom, clock, audit: fx.core.audit });
      const final = readKeyEncryptionKeyFile(path);
      expect(final.keys.map((key) => key.id)).toEqual([result.newKeyId]);
      expect(result.droppedKeyIds).toEqual(afterCrashes.keys.map((key) => key.id));
      expect((await listSealedValues(db)).every((item) => sealedKeyIdOf(item.value) === result.newKeyId)).toBe(true);
      expect(readFileSync(path, 'utf8')).not.toContain(original.keys[0]!.key.toString('base64url'));
      // Everything works with the new file; the running server followed the file; the old key opens nothing.
      await opensEverything(db, openSecretSealer({ key_encryption_key_file: path }, dir, cryptoRandom), clock, totp);
      await opensEverything(db, running, clock, totp);
      const stale = createSecretSealer({ keys: original, random: cryptoRandom, source: 'old file' });
      expect(await codeOf(new LegacyFactors(db, clock, stale).verifyTotp(user.id, '123456'))).toBe('sealed_value_unknown_key');
      expect(await queryAudit(db, { type: 'secrets.kek_rotated' })).toMatchObject([{ actor: 'cli', detail: { new_key_id: result.newKeyId } }]);
      await fx.core.close();
    });

    it('a signing key moved to another kid\'s row does not open', async () => {
      const clock = new ManualClock(Date.UTC(2026, 7, 1));
      const fx = await openCoreFixture({ clock, databaseUrl: await engine.url(mkdtempSync(join(dir, 'swap-'))) });
      const { db } = fx.core.store;
      const ring = createSigningKeyRing({ store: createDatabaseSigningKeyStore(db, fx.core.secrets), clock, random: cryptoRandom });
      await ring.ensureKey();
      const second = await ring.rotate();
      const rows = await db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
      const first = rows.find((row) => row.kid !== second)!;
      await db.updateTable('signing_keys').set({ private_jwk: first.private_jwk }).where('kid', '=', second).execute();
      expect(await codeOf(ring.refresh())).toBe('sealed_value_auth_failed');
      await fx.close();
    });
  });
}
