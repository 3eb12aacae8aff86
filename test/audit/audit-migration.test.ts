/**
 * Migration 002 on a database that already holds events (written by the pre-chain code, with a gap a
 * rolled-back transaction left): it chains them in seq order, and the log verifies and keeps growing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditLog, verifyAuditChain } from '../../src/audit/index.js';
import { ManualClock } from '../../src/lib/clock.js';
import { initialMigration } from '../../src/store/migrations/001-initial.js';
import { openStore, type Dialect } from '../../src/store/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';

const pgAvailable = await havePostgres();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-mig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A database at version 001 with legacy rows, as the previous release left it. */
async function legacyDatabase(dialect: Dialect, url: string): Promise<void> {
  const db =
    dialect === 'sqlite'
      ? new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(url.slice('sqlite:'.length)) }) })
      : new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }) });
  try {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => ({ '001-initial': initialMigration(dialect) }) },
      migrationTableName: 'gatehouse_migrations',
      migrationLockTableName: 'gatehouse_migrations_lock',
    });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
    for (const [seq, type, detail] of [[1, 'sign_in', '{"method":"webauthn","app":"wiki"}'], [2, 'user.created', '{"groups":["staff"]}'], [5, 'access.denied', '{}']] as const) {
      await sql`insert into audit_events (seq, at, type, outcome, code, user_id, actor, ip, detail)
        values (${seq}, ${1_700_000_000_000 + seq}, ${type}, 'success', null, 'u1', null, '192.0.2.1', ${detail})`.execute(db);
    }
  } finally {
    await db.destroy();
  }
}

const engines = [
  { name: 'sqlite' as const, available: true, url: async () => `sqlite:${join(dir, 'legacy.db')}` },
  { name: 'postgres' as const, available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_audit_migration') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`migration 002 on existing events: ${engine.name}`, () => {
    it('chains the old events; the log verifies and new events extend it', async () => {
      const url = await engine.url();
      await legacyDatabase(engine.name, url);
      const store = await openStore({ url });
      try {
        const before = await verifyAuditChain(store.db);
        expect(before).toMatchObject({ ok: true, events: 3, last: { seq: 5 } });
        const head = await store.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
        expect({ seq: Number(head.seq), hash: head.hash }).toEqual(before.last);

        await createAuditLog({ db: store.db, clock: new ManualClock() }).record({ type: 'after', outcome: 'info' });
        expect(await verifyAuditChain(store.db)).toMatchObject({ ok: true, events: 4, last: { seq: 6 } });

        // The backfilled rows are protected like new ones.
        await store.db.updateTable('audit_events').set({ user_id: 'u2' }).where('seq', '=', 2).execute();
        expect((await verifyAuditChain(store.db)).problem).toMatchObject({ kind: 'changed', seq: 2 });
      } finally {
        await store.close();
      }
    });
  });
}
