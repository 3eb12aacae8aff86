import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * `column LIKE '%text%'` with the text taken literally: % and _ in a search box are characters, not
 * wildcards (a search for "a_b" must not match "axb"), on SQLite and PostgreSQL alike (both accept an
 * explicit ESCAPE clause; SQLite has no default escape character).
 */
export function containsText(column: string, text: string): RawBuilder<SqlBool> {
  const escaped = text.replace(/[\\%_]/g, (c) => `\\${c}`);
  return sql<SqlBool>`${sql.ref(column)} like ${`%${escaped}%`} escape '\\'`;
}
