import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import type { DomainAgeCacheStore, DomainAgeRecord, FirstSeenStore } from './domain-age/index.js';

/**
 * Registration dates and first sightings shared by every instance through the database, behind the
 * in-memory caches (the DNS hot path never waits on these: they are read only on the async path).
 */
export function createDatabaseAgeCache(db: Kysely<Database>): DomainAgeCacheStore {
  return {
    async get(domain) {
      const row = await db.selectFrom('domain_registrations').select(['record', 'expires_at']).where('domain', '=', domain).executeTakeFirst();
      if (!row) return undefined;
      return JSON.parse(row.record) as DomainAgeRecord;
    },
    async set(record) {
      const values = { domain: record.domain, record: JSON.stringify(record), expires_at: record.expiresAt };
      await db
        .insertInto('domain_registrations')
        .values(values)
        .onConflict((oc) => oc.column('domain').doUpdateSet({ record: values.record, expires_at: values.expires_at }))
        .execute();
    },
  };
}

const TRACKING_KEY = 'dns.first_seen_tracking_since';

export function createDatabaseFirstSeenStore(db: Kysely<Database>, now: () => number): FirstSeenStore {
  let since: number | undefined;
  return {
    async recordSeen(domain, at) {
      await db.insertInto('domain_first_seen').values({ domain, first_seen_at: at }).onConflict((oc) => oc.column('domain').doNothing()).execute();
      const row = await db.selectFrom('domain_first_seen').select('first_seen_at').where('domain', '=', domain).executeTakeFirst();
      return Number(row?.first_seen_at ?? at);
    },
    async trackingSince() {
      if (since !== undefined) return since;
      await db.insertInto('settings').values({ key: TRACKING_KEY, value: String(now()) }).onConflict((oc) => oc.column('key').doNothing()).execute();
      const row = await db.selectFrom('settings').select('value').where('key', '=', TRACKING_KEY).executeTakeFirstOrThrow();
      since = Number(row.value);
      return since;
    },
  };
}
