/**
 * The last-administrator guard raced (the attacker's view, written before the tests): the console
 * refuses an action that would leave no active administrator with a key (`console_last_admin`), by
 * checking "is there another one?" and then acting. Two requests sent at once (a script in a
 * compromised admin's browser, or two admins removing each other) each see the other administrator
 * and both act: nobody is left who can use the console. Sent together, at most one may succeed; the
 * other is refused with its code, and an administrator remains. The same race across two instances
 * on PostgreSQL is src/identity/last-admin-guard.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';
import { action, csrfOf, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

const engines = [
  { name: 'SQLite file', available: true, url: async () => undefined },
  { name: 'PostgreSQL', available: await havePostgres(), url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_lockout_race') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`console attacks: racing the last-administrator guard (${engine.name})`, { timeout: 60_000 }, () => {
    let kit: ConsoleKit;
    beforeAll(async () => {
      const databaseUrl = await engine.url();
      kit = await startConsoleKit(databaseUrl ? { databaseUrl } : {});
      // The password+TOTP admin has no key: it does not count as a usable administrator.
      await enrolThroughPortal(kit.fx, new TestBrowser(kit.fx.port), 'admin2@acme.test', ['admins']);
    });
    afterAll(async () => {
      await kit?.close();
    });

    it('lets at most one of two simultaneous removals through, and an administrator with a key remains', async () => {
      const core = kit.fx.gatehouse.core;
      const self = await core.identity.users.require('admin@acme.test');
      const other = await core.identity.users.require('admin2@acme.test');
      const token = await csrfOf(kit, kit.admin);
      const replies = await Promise.all([
        action(kit, kit.admin, '/admin/users/disable', { user_id: other.id }, { csrf: token }),
        action(kit, kit.admin, '/admin/users/groups/remove', { user_id: self.id, group: 'admins' }, { csrf: token }),
      ]);
      const outcomes = replies.map((r) => ({ status: r.status, code: r.json.error }));
      expect(outcomes.filter((o) => o.status === 200)).toHaveLength(1);
      expect(outcomes.filter((o) => o.status !== 200)).toEqual([{ status: 409, code: 'console_last_admin' }]);
      const usable = [];
      for (const user of [await core.identity.users.require('admin@acme.test'), await core.identity.users.require('admin2@acme.test')]) {
        if (user.status === 'active' && user.groups.includes('admins')) usable.push(user.email);
      }
      expect(usable).toHaveLength(1);
    });
  });
}

