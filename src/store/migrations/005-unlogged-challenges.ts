import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * WebAuthn challenges live for minutes and are single use; losing them in a crash only means pressing
 * the button again. On PostgreSQL the table becomes UNLOGGED: its writes skip the WAL, so creating and
 * consuming a challenge is one statement each with no commit flush (a transaction that wrote no WAL
 * does not wait for one). Two of a sign-in's fsyncs and six round trips gone. An unlogged table is
 * emptied after a crash and is not copied to standbys: every Gatehouse instance talks to the primary,
 * and after a failover the sign-ins in flight start again. SQLite has no such setting; nothing to do.
 */
export function unloggedChallengesMigration(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect === 'postgres') await sql`alter table webauthn_challenges set unlogged`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (dialect === 'postgres') await sql`alter table webauthn_challenges set logged`.execute(db);
    },
  };
}
