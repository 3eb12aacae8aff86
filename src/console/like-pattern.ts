import { sql, type RawBuilder, type SqlBool } from 'kysely';

/** The text as a LIKE pattern matching it anywhere, with %, _ and \ taken literally. */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * `column LIKE '%text%'` with the text taken literally: % and _ in a search box are characters, not
 * wildcards (a search for "a_b" must not match "axb"), on SQLite and PostgreSQL alike (both accept an
 * explicit ESCAPE clause; SQLite has no default escape character).
 */
export function containsText(column: string, text: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} like ${containsPattern(text)} escape '\\'`;
}

/**
 * The same, ignoring case on both engines: PostgreSQL's LIKE is case-sensitive where SQLite's is not
 * (for ASCII), so both sides are lowered. For columns stored as typed (display names), not emails.
 */
export function containsTextAnyCase(column: string, text: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${containsPattern(text.toLowerCase())} escape '\\'`;
}
