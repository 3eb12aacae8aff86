import type { Database as BetterSqlite, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * Kysely's SQLite driver prepares every query anew; with parameterised queries the same few dozen SQL
 * strings repeat on every sign-in and proxied request, and preparing them was a tenth of a sign-in's
 * CPU time. Prepared statements are reused from a bounded map (cleared when full: the set of SQL
 * strings an application issues is small, so this does not churn).
 */
export function withStatementCache(database: BetterSqlite, maxStatements = 512): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        if (cache.size >= maxStatements) cache.clear();
        statement = database.prepare(sql);
        cache.set(sql, statement);
      }
      return statement as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}
