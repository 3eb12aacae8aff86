import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Indexes for the admin console's query-log search by client address, by user and by verdict ("what
 * did this laptop resolve", "what did this person resolve", "what was blocked"), newest first: each is
 * (column, at), so a page of 100 rows is read in index order instead of scanning a million rows. Name
 * and time already have theirs (003-dns).
 *
 * Every DNS query writes a row, so each index is a cost on the hot write path: the user and verdict
 * indexes are partial, holding only the rows a search looks for (queries with a known user; verdicts
 * other than allow, about 1 % of rows), and the searches repeat their predicate word for word so
 * both engines use them.
 *
 * A frozen snapshot: nothing here imports live code.
 */
export function dnsQueryLogFiltersMigration(_dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('dns_queries_client').on('dns_queries').columns(['client', 'at']).execute();
      await db.schema.createIndex('dns_queries_user').on('dns_queries').columns(['user_id', 'at']).where(sql<boolean>`user_id is not null`).execute();
      await db.schema.createIndex('dns_queries_verdict').on('dns_queries').columns(['verdict', 'at']).where(sql<boolean>`verdict <> 'allow'`).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('dns_queries_verdict').execute();
      await db.schema.dropIndex('dns_queries_user').execute();
      await db.schema.dropIndex('dns_queries_client').execute();
    },
  };
}
