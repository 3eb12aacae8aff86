import type { Kysely } from 'kysely';
import type { Random } from '../lib/random.js';
import type { Database } from './schema.js';

/**
 * A per-deployment secret for HMACs (decoy credential ids, CSRF binding). Generated once and shared by
 * every instance through the database; `on conflict do nothing` makes concurrent first starts agree.
 */
export async function loadServerSecret(db: Kysely<Database>, random: Random): Promise<Buffer> {
  const candidate = random.bytes(32).toString('base64url');
  await db
    .insertInto('settings')
    .values({ key: 'server_secret', value: candidate })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', 'server_secret').executeTakeFirstOrThrow();
  return Buffer.from(row.value, 'base64url');
}
