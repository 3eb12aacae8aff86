import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { openCoreFixture, type CoreFixture } from '../../test/support/core-fixture.js';
import { codeOf } from '../../test/support/error-code.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { ManualClock } from '../lib/clock.js';
import type { IdentityService } from './identity-service.js';
import { LAST_ADMIN_CODE } from './last-admin-guard.js';

/**
 * The attack (see last-admin-guard.ts): two administrators remove each other at the same moment, each
 * through a different instance, so that nobody is left who can use the console. Run for real: two
 * Gatehouse cores on one database, each with its own connections, the two guarded changes sent with
 * Promise.all, several rounds with different pairs of changes. Exactly one may succeed, the other is
 * refused with `last_admin`, and one usable administrator remains.
 *
 * SQLite serves one instance (one connection, whose transactions Kysely runs one at a time): there the
 * two changes race on that instance.
 */

const GUARD = { adminGroups: ['admins'] };
const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', instances: 1, url: async (dir: string) => `sqlite:${join(dir, 'shared.db')}` },
  ...(pgAvailable ? [{ name: 'PostgreSQL, two instances', instances: 2, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_last_admin_guard') }] : []),
];
if (!pgAvailable) {
  if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: PostgreSQL at ${POSTGRES_TEST_URL}`);
  process.stderr.write(`\n[SKIPPED] last-administrator guard across instances: no PostgreSQL at ${POSTGRES_TEST_URL}\n`);
}

type Removal = (identity: IdentityService, userId: string) => Promise<unknown>;
const REMOVALS: Record<string, Removal> = {
  'leaves the admin group': (identity, userId) => identity.removeUserFromGroups(userId, ['admins'], 'test', GUARD),
  'is disabled': (identity, userId) => identity.setUserStatus(userId, 'disabled', 'test', GUARD),
  'loses their only key': async (identity, userId) => {
    const [key] = await identity.credentials.listForUser(userId);
    return identity.removeKey(userId, key!.id, { byAdmin: true, actor: 'test', guard: GUARD });
  },
};
const PAIRS: [string, string][] = [
  ['leaves the admin group', 'leaves the admin group'],
  ['is disabled', 'leaves the admin group'],
  ['is disabled', 'is disabled'],
  ['loses their only key', 'leaves the admin group'],
  ['loses their only key', 'is disabled'],
  ['leaves the admin group', 'is disabled'],
];

describe.each(engines)('last-administrator guard ($name)', ({ url, instances }) => {
  let dir: string;
  let a: CoreFixture;
  let b: CoreFixture;
  let seeded = 0;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-last-admin-'));
    const databaseUrl = await url(dir);
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
    a = await openCoreFixture({ databaseUrl, clock });
    b = instances === 2 ? await openCoreFixture({ databaseUrl, clock }) : a;
  });
  afterEach(async () => {
    if (b !== a) await b.close();
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An administrator who can use the console: active, in `admins`, with a key. */
  async function usableAdmin(name: string): Promise<string> {
    const user = await a.core.identity.addUser({ email: `${name}@acme.test`, groups: ['admins'], actor: 'test' });
    seeded += 1;
    await a.core.store.db
      .insertInto('credentials')
      .values({ id: `key-${seeded}`, user_id: user.id, name: 'Desk key', public_key: 'AA', counter: 0, aaguid: '0', transports: '["usb"]', authenticator_class: 'hwk', backed_up: 0, created_at: a.clock.now(), last_used_at: null, model: null, attestation: 'packed', added_ip: null, added_user_agent: null })
      .execute();
    return user.id;
  }

  async function usableAdmins(): Promise<string[]> {
    const out: string[] = [];
    for (const user of await a.core.identity.users.list()) {
      if (user.status === 'active' && user.groups.includes('admins') && (await a.core.identity.credentials.countForUser(user.id)) > 0) out.push(user.email);
    }
    return out;
  }

  it('two administrators removing each other at once: exactly one succeeds, one is refused, one remains', { timeout: 60_000 }, async () => {
    for (const [round, [first, second]] of PAIRS.entries()) {
      const x = await usableAdmin(`x${round}`);
      const y = await usableAdmin(`y${round}`);
      expect(await usableAdmins()).toHaveLength(2);
      const outcomes = await Promise.allSettled([REMOVALS[first]!(a.core.identity, x), REMOVALS[second]!(b.core.identity, y)]);
      const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o.reason as { code?: string }).code);
      expect({ round, first, second, refused }).toEqual({ round, first, second, refused: [LAST_ADMIN_CODE] });
      expect(await usableAdmins()).toHaveLength(1);
      // Leaves none usable for the next round (unguarded, as the CLI on the host may).
      for (const email of await usableAdmins()) await a.core.identity.setUserStatus((await a.core.identity.users.require(email)).id, 'disabled', 'test');
    }
  });

  it('refuses to take away the last usable administrator, and changes nothing', async () => {
    const only = await usableAdmin('only');
    // A keyless admin cannot reach the console: it does not count.
    await a.core.identity.addUser({ email: 'keyless@acme.test', groups: ['admins'], actor: 'test' });
    for (const name of Object.keys(REMOVALS)) expect({ name, code: await codeOf(REMOVALS[name]!(b.core.identity, only)) }).toEqual({ name, code: LAST_ADMIN_CODE });
    const user = await a.core.identity.users.require(only);
    expect(user).toMatchObject({ status: 'active', groups: ['admins'] });
    expect(await a.core.identity.credentials.countForUser(only)).toBe(1);
    expect(await usableAdmins()).toEqual(['only@acme.test']);
  });

  it('lets a user who is not a usable administrator go, even when no usable administrator exists', async () => {
    const keyless = await a.core.identity.addUser({ email: 'keyless@acme.test', groups: ['admins', 'staff'], actor: 'test' });
    await a.core.identity.removeUserFromGroups(keyless.id, ['admins'], 'test', GUARD);
    await a.core.identity.setUserStatus(keyless.id, 'disabled', 'test', GUARD);
    expect(await a.core.identity.users.require(keyless.id)).toMatchObject({ status: 'disabled', groups: ['staff'] });
  });
});

describe.runIf(pgAvailable)('last-administrator guard under REPEATABLE READ (PostgreSQL)', () => {
  it('refuses to run rather than count from a snapshot older than its lock, and changes nothing', async () => {
    const databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_last_admin_rr');
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(new URL(databaseUrl).pathname.slice(1))} SET default_transaction_isolation = 'repeatable read'`);
    } finally {
      await admin.end();
    }
    const fx = await openCoreFixture({ databaseUrl });
    try {
      const first = await fx.core.identity.addUser({ email: 'first@acme.test', groups: ['admins'], actor: 'test' });
      await fx.core.identity.addUser({ email: 'second@acme.test', groups: ['admins'], actor: 'test' });
      await expect(fx.core.identity.removeUserFromGroups(first.id, ['admins'], 'test', GUARD)).rejects.toThrow(/REPEATABLE READ/);
      expect((await fx.core.identity.users.require(first.id)).groups).toEqual(['admins']);
    } finally {
      await fx.close();
    }
  });
});
