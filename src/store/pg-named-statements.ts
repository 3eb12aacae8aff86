import { createHash } from 'node:crypto';
import type pg from 'pg';

// DML only: a named statement is parsed and planned once per connection and then only bound and
// executed. Transaction control and DDL run rarely and stay unnamed.
const NAMEABLE = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * Kysely sends every query as an unnamed extended-protocol statement, so PostgreSQL parses, analyses
 * and plans the same few dozen SQL strings on every sign-in and request: on the sign-in path that was
 * more database CPU than executing them. Naming each distinct SQL text (by its hash) lets node-postgres
 * prepare it once per connection and reuse it. The set of names is bounded: past `maxNames` distinct
 * texts (a query built with a variable-length IN list, say), new texts run unnamed as before, so a
 * connection never accumulates unbounded prepared statements.
 */
export function nameStatementsOnConnect(pool: pg.Pool, maxNames = 1000): void {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < maxNames && NAMEABLE.test(text)) {
      name = `gh_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    // Only the (text, values) form Kysely uses is rewritten; every other call passes through as is.
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const [text, values] = args;
      if (typeof text === 'string' && (args.length === 1 || (args.length === 2 && Array.isArray(values)))) {
        const name = nameOf(text);
        if (name !== undefined) return query({ name, text, values });
      }
      return query(...args);
    };
  });
}
