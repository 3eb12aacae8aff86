/**
 * The HMAC key (`settings.server_secret`) sealed at rest, on real SQLite and PostgreSQL. The attacks:
 * a copy of the database (dump, backup, read-only SQL injection) reads the key to tell decoy credential
 * ids from real ones; someone who can write the database plants or swaps the row; an operator starts
 * with the wrong key file and a silently regenerated key would hide it.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreConfigYaml, openCoreFixture } from '../../test/support/core-fixture.js';
import { codeOf } from '../../test/support/error-code.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { OTHER_KEY_ENCRYPTION_KEY, testSealer } from '../../test/support/test-kek.js';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { builtPath } from '../../test/support/paths.js';
import { queryAudit } from '../audit/index.js';
import { isGatehouseError } from '../lib/errors.js';
import { cryptoRandom } from '../lib/random.js';
import { openStore, type Database } from '../store/index.js';
import { createKeyEncryptionKeyFile, createUnavailableSealer, forgetUnopenableSecrets, isSealedValue, loadServerSecret, openSecretSealer } from './index.js';

const pgAvailable = await havePostgres();
let databases = 0;
const engines = [
  { name: 'sqlite', available: true, url: async (dir: string) => `sqlite:${join(dir, `secret-${++databases}.db`)}` },
  { name: 'postgres', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, `gatehouse_server_secret_${++databases}`) },
];

async function rawRow(db: Kysely<Database>): Promise<string | undefined> {
  return (await db.selectFrom('settings').select('value').where('key', '=', 'server_secret').executeTakeFirst())?.value;
}

/** Every encoding a dump could show the 32 bytes in. */
function encodingsOf(secret: Buffer): string[] {
  const base64 = secret.toString('base64');
  return [secret.toString('base64url'), base64, base64.replace(/=+$/, ''), secret.toString('hex'), secret.toString('hex').toUpperCase()];
}

const WORKER = builtPath('test/secrets/start-worker.ts');
const digestOf = (secret: Buffer) => createHash('sha256').update(secret).digest('hex');

/**
 * `count` Gatehouse processes opening the database at once: separate processes, because SQLite's
 * locking (and PostgreSQL's) is what is under test, not the interleaving of one event loop.
 */
async function startAtOnce(dir: string, url: string, count: number): Promise<{ secretDigest: string; sealedAtOpen: number }[]> {
  const config = join(dir, `race-${++databases}.yaml`);
  writeFileSync(config, coreConfigYaml(url));
  const start = () =>
    new Promise<{ secretDigest: string; sealedAtOpen: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [WORKER, config], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { secretDigest: string; sealedAtOpen: number }) : reject(new Error(`start-worker exited ${code}`))));
    });
  return Promise.all(Array.from({ length: count }, start));
}

/** A database in which migrations ran and no key exists yet (opened without a KEK, as the CLI may). */
async function migratedDatabase(url: string): Promise<void> {
  const fx = await openCoreFixture({ databaseUrl: url, sealer: createUnavailableSealer() });
  expect(await rawRow(fx.core.store.db)).toBeUndefined();
  await fx.close();
}

for (const engine of engines) {
  describe.runIf(engine.available)(`server secret sealed at rest: ${engine.name}`, () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-server-secret-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a first start stores the secret sealed: the row holds none of its encodings, and a restart opens the same secret', async () => {
      const url = await engine.url(dir);
      const first = await openCoreFixture({ databaseUrl: url });
      const secret = first.core.identity.ctx.serverSecret();
      expect(secret).toHaveLength(32);
      const row = (await rawRow(first.core.store.db))!;
      expect(isSealedValue(row)).toBe(true);
      for (const encoding of encodingsOf(secret)) expect(row).not.toContain(encoding);
      await first.close();

      const again = await openCoreFixture({ databaseUrl: url });
      expect(again.core.identity.ctx.serverSecret().equals(secret)).toBe(true);
      expect(await rawRow(again.core.store.db)).toBe(row);
      await again.close();
    });

    it('upgrade: a plaintext row from before is sealed in place by two processes starting at once, keeps its value (decoy ids unchanged), audited once', async () => {
      const url = await engine.url(dir);
      // A deployment from before: KEK in place (the canary exists), the HMAC key in the clear.
      const before = await openCoreFixture({ databaseUrl: url });
      const legacy = Buffer.alloc(32, 0xa5);
      await before.core.store.db.updateTable('settings').set({ value: legacy.toString('base64url') }).where('key', '=', 'server_secret').execute();
      await before.close();

      const starts = await startAtOnce(dir, url, 2);
      expect(starts.map((start) => start.secretDigest)).toEqual([digestOf(legacy), digestOf(legacy)]);
      expect(starts.reduce((sum, start) => sum + start.sealedAtOpen, 0)).toBe(1);

      const after = await openCoreFixture({ databaseUrl: url });
      const { db } = after.core.store;
      expect(after.core.identity.ctx.serverSecret().equals(legacy)).toBe(true);
      const row = (await rawRow(db))!;
      expect(isSealedValue(row)).toBe(true);
      for (const encoding of encodingsOf(legacy)) expect(row).not.toContain(encoding);
      expect(await queryAudit(db, { type: 'secrets.sealed_at_rest' })).toMatchObject([{ actor: 'system', detail: { settings: 1 } }]);
      // The decoy credential id an unknown email got before the upgrade is the one it gets after.
      const email = 'nobody@acme.test';
      const decoy = createHmac('sha256', legacy).update(`decoy-credential:${email}`).digest('base64url');
      const start = await after.core.identity.startSignIn({ email });
      expect(start.options.allowCredentials?.[0]?.id).toBe(decoy);
      await after.close();
    });

    it('concurrent first starts (separate processes) agree on one secret', async () => {
      const url = await engine.url(dir);
      await migratedDatabase(url);
      const starts = await startAtOnce(dir, url, 4);
      expect(new Set(starts.map((start) => start.secretDigest)).size).toBe(1);
      const after = await openCoreFixture({ databaseUrl: url });
      expect(digestOf(after.core.identity.ctx.serverSecret())).toBe(starts[0]!.secretDigest);
      expect(await after.core.store.db.selectFrom('settings').select('key').where('key', '=', 'server_secret').execute()).toHaveLength(1);
      await after.close();

      // The loader alone, on separate connections, racing on an empty row.
      const raced = await engine.url(dir);
      await migratedDatabase(raced);
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore({ url: raced, baseDir: dir, poolSize: 2 })));
      const loaded = await Promise.all(stores.map((store) => loadServerSecret(store.db, cryptoRandom, testSealer())));
      expect(new Set(loaded.map((secret) => secret.toString('hex'))).size).toBe(1);
      await Promise.all(stores.map((store) => store.close()));
    });

    it('a row the key file cannot open fails the start with server_secret_unopenable naming the row and the file, and is left as it was', async () => {
      const url = await engine.url(dir);
      const path = join(dir, `kek-${engine.name}-${databases}.json`);
      createKeyEncryptionKeyFile(path, { random: cryptoRandom, clock: { now: () => Date.UTC(2026, 11, 1) } });
      const sealer = openSecretSealer({ key_encryption_key_file: path }, dir, cryptoRandom);
      const first = await openCoreFixture({ databaseUrl: url, sealer });
      const { db } = first.core.store;
      const secret = first.core.identity.ctx.serverSecret();
      const row = (await rawRow(db))!;

      // Sealed under another deployment's key (a row restored from the wrong backup): the canary
      // opens, this row does not.
      const foreign = testSealer(OTHER_KEY_ENCRYPTION_KEY).seal(Buffer.alloc(32, 1).toString('base64url'), 'server-secret');
      await db.updateTable('settings').set({ value: foreign }).where('key', '=', 'server_secret').execute();
      const failure = await openCoreFixture({ databaseUrl: url, sealer }).catch((error: unknown) => error);
      expect(isGatehouseError(failure) && failure.code).toBe('server_secret_unopenable');
      expect(failure).toMatchObject({ publicMessage: expect.stringContaining('settings.server_secret') });
      expect(failure).toMatchObject({ publicMessage: expect.stringContaining(path) });
      expect(await rawRow(db)).toBe(foreign);

      // Another sealed value copied into the row (a writer swapping rows): refused, not regenerated.
      const canary = (await db.selectFrom('settings').select('value').where('key', '=', 'kek_canary').executeTakeFirstOrThrow()).value;
      await db.updateTable('settings').set({ value: canary }).where('key', '=', 'server_secret').execute();
      expect(await codeOf(openCoreFixture({ databaseUrl: url, sealer }))).toBe('server_secret_unopenable');
      expect(await rawRow(db)).toBe(canary);

      // The wrong key file altogether: refused before the row is read (kek_mismatch), row untouched.
      await db.updateTable('settings').set({ value: row }).where('key', '=', 'server_secret').execute();
      expect(await codeOf(openCoreFixture({ databaseUrl: url, sealer: testSealer(OTHER_KEY_ENCRYPTION_KEY) }))).toBe('kek_mismatch');
      expect(await rawRow(db)).toBe(row);
      const back = await openCoreFixture({ databaseUrl: url, sealer });
      expect(back.core.identity.ctx.serverSecret().equals(secret)).toBe(true);
      await back.close();
      await first.close();
    });

    it('forget-lost: a secret sealed under the lost key is forgotten; a plaintext one is kept and sealed as it is at the next start', async () => {
      const url = await engine.url(dir);
      const lost = await openCoreFixture({ databaseUrl: url, sealer: testSealer(OTHER_KEY_ENCRYPTION_KEY) });
      const old = lost.core.identity.ctx.serverSecret();
      await lost.close();

      const fx = await openCoreFixture({ databaseUrl: url, sealer: createUnavailableSealer() });
      const { db } = fx.core.store;
      const report = await forgetUnopenableSecrets({ db, sealer: testSealer(), audit: fx.core.audit, actor: 'cli' });
      expect(report).toMatchObject({ serverSecret: true, canary: true });
      expect(await rawRow(db)).toBeUndefined();
      expect(await queryAudit(db, { type: 'secrets.forgotten' })).toMatchObject([{ detail: { server_secret: true } }]);
      // A plaintext value (never sealed) is under no key: not lost, sealed as it is at the next start.
      const legacy = Buffer.alloc(32, 0x3c);
      await db.insertInto('settings').values({ key: 'server_secret', value: legacy.toString('base64url') }).execute();
      expect(await forgetUnopenableSecrets({ db, sealer: testSealer(), audit: fx.core.audit, actor: 'cli' })).toMatchObject({ serverSecret: false });
      expect(await rawRow(db)).toBe(legacy.toString('base64url'));
      await fx.close();

      const fresh = await openCoreFixture({ databaseUrl: url });
      expect(fresh.core.identity.ctx.serverSecret().equals(legacy)).toBe(true);
      expect(fresh.core.identity.ctx.serverSecret().equals(old)).toBe(false);
      await fresh.close();
    });

    it('without a KEK (CLI) the secret is neither created nor read, and sign-in refuses with kek_not_configured', async () => {
      const url = await engine.url(dir);
      const fx = await openCoreFixture({ databaseUrl: url, sealer: createUnavailableSealer() });
      expect(await rawRow(fx.core.store.db)).toBeUndefined();
      expect(await codeOf(fx.core.identity.startSignIn({ email: 'nobody@acme.test' }))).toBe('kek_not_configured');
      await fx.close();
    });
  });
}
