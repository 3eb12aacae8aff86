import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration } from 'kysely';
import pg from 'pg';
import type { Dialect } from './dialect.js';
import { initialMigration } from './migrations/001-initial.js';
import { auditChainMigration } from './migrations/002-audit-chain.js';
import { dnsMigration } from './migrations/003-dns.js';
import { incidentsMigration } from './migrations/004-incidents.js';
import { unloggedChallengesMigration } from './migrations/005-unlogged-challenges.js';
import { keyProofsMigration } from './migrations/006-key-proofs.js';
import { signInThrottleMigration } from './migrations/007-sign-in-throttle.js';
import { serviceTokensMigration } from './migrations/008-service-tokens.js';
import { credentialInventoryMigration } from './migrations/009-credential-inventory.js';
import { sshCertificateAuthorityMigration } from './migrations/010-ssh-certificate-authority.js';
import { campaignLeaseOwnerMigration } from './migrations/011-campaign-lease-owner.js';
import { cliLoginMigration } from './migrations/012-cli-login.js';
import { reportsMigration } from './migrations/013-reports.js';
import { consoleIndexesMigration } from './migrations/014-console-indexes.js';
import { consoleRollupsMigration } from './migrations/015-console-rollups.js';
import { consoleUserIndexesMigration } from './migrations/016-console-user-indexes.js';
import { auditConsoleIndexesMigration } from './migrations/017-audit-console-indexes.js';
import { dnsQueryLogFiltersMigration } from './migrations/018-dns-query-log-filters.js';
import { reportIntakeKeysMigration } from './migrations/019-report-intake-keys.js';
import type { Database } from './schema.js';
import { nameStatementsOnConnect } from './pg-named-statements.js';
import { withStatementCache } from './statement-cache.js';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where it lives, without credentials: safe to log. */
  readonly description: string;
  /** PostgreSQL connection string, for LISTEN (undefined on SQLite). */
  readonly postgresUrl: string | undefined;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  url: string;
  /** Base for relative SQLite paths (the config file's folder). */
  baseDir?: string;
  poolSize?: number;
}

/** Names of every migration, in the order they apply (the same on both engines). */
export function migrationNames(): string[] {
  return Object.keys(migrationsFor('sqlite')).sort();
}

function migrationsFor(dialect: Dialect): Record<string, Migration> {
  return {
    '001-initial': initialMigration(dialect),
    '002-audit-chain': auditChainMigration(dialect),
    '003-dns': dnsMigration(dialect),
    '004-incidents': incidentsMigration(dialect),
    '005-unlogged-challenges': unloggedChallengesMigration(dialect),
    '006-key-proofs': keyProofsMigration(dialect),
    '007-sign-in-throttle': signInThrottleMigration(dialect),
    '008-service-tokens': serviceTokensMigration(dialect),
    '009-credential-inventory': credentialInventoryMigration(dialect),
    '010-ssh-certificate-authority': sshCertificateAuthorityMigration(dialect),
    '011-campaign-lease-owner': campaignLeaseOwnerMigration(dialect),
    '012-cli-login': cliLoginMigration(dialect),
    '013-reports': reportsMigration(dialect),
    '014-console-indexes': consoleIndexesMigration(dialect),
    '015-console-rollups': consoleRollupsMigration(dialect),
    '016-console-user-indexes': consoleUserIndexesMigration(dialect),
    '017-audit-console-indexes': auditConsoleIndexesMigration(dialect),
    '018-dns-query-log-filters': dnsQueryLogFiltersMigration(dialect),
    '019-report-intake-keys': reportIntakeKeysMigration(dialect),
  };
}

// PostgreSQL returns int8 as a string (it may exceed 2^53). Our int8 columns are millisecond
// timestamps and counters well inside 2^53, so parse them as numbers on this pool only.
const INT8_OID = 20;
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

/** Opens the database named by the URL and applies every pending migration (versioned, in order). */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { url, baseDir = process.cwd(), poolSize = 10 } = options;
  let db: Kysely<Database>;
  let dialect: Dialect;
  let description: string;
  let postgresUrl: string | undefined;

  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    dialect = 'postgres';
    description = redact(url);
    postgresUrl = url;
    const pool = new pg.Pool({ connectionString: url, max: poolSize, types: typeParsers });
    // An idle client that loses its connection emits 'error' on the pool; without a listener it
    // would crash the process. The next query gets a fresh client.
    pool.on('error', () => {});
    // A client checked out of the pool has no pool listener: when its connection drops mid-query the
    // query is rejected (the caller sees the outage) and the client also emits 'error', which
    // unheard would crash the process on the first database outage.
    pool.on('connect', (client) => client.on('error', () => {}));
    nameStatementsOnConnect(pool);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else if (url.startsWith('sqlite:')) {
    dialect = 'sqlite';
    const raw = url.slice('sqlite:'.length);
    const path = raw === ':memory:' ? raw : isAbsolute(raw) ? raw : resolve(baseDir, raw);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    description = `sqlite:${path}`;
    const sqlite = new SqliteDatabase(path);
    // WAL lets readers run beside the single writer; NORMAL sync is durable across process crashes.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  } else {
    throw new Error(`database.url must start with sqlite: or postgres:// (got "${url.split(':')[0]}:...")`);
  }

  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrationsFor(dialect) },
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed on ${description}: ${String(error)}`, {
      cause: error,
    });
  }

  return {
    db,
    dialect,
    description,
    postgresUrl,
    close: () => db.destroy(),
  };
}
