/** Passwords are hashed at OWASP's argon2id cost unless a test asks for less; verification follows the stored cost. */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openCoreFixture, type CoreFixture } from '../../test/support/core-fixture.js';
import { LegacyFactors } from './legacy-factors.js';

let fx: CoreFixture;
beforeEach(async () => {
  fx = await openCoreFixture();
});
afterEach(() => fx.close());

it('hashes at m=19 MiB, t=2, p=1 by default, and verifies hashes of any stored cost', async () => {
  const user = await fx.core.identity.users.add({ email: 'cost@acme.test' });
  const production = new LegacyFactors(fx.core.store.db, fx.clock);
  await production.setPassword(user.id, 'correct horse battery staple');
  const row = await fx.core.store.db.selectFrom('legacy_factors').select('password_hash').where('user_id', '=', user.id).executeTakeFirstOrThrow();
  expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  // The fixture's cheaper instance verifies it too: the cost is read from the hash.
  expect(await fx.core.identity.legacy.verifyPassword(user.id, 'correct horse battery staple')).toBe(true);
  expect(await fx.core.identity.legacy.verifyPassword(user.id, 'wrong horse battery staple')).toBe(false);
});
