/** Passwords are hashed at OWASP's argon2id cost unless a test asks for less; verification follows the stored cost. */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openCoreFixture, type CoreFixture } from '../../test/support/core-fixture.js';
import { codeOf } from '../../test/support/error-code.js';
import { OTHER_KEY_ENCRYPTION_KEY, testSealer } from '../../test/support/test-kek.js';
import { createUnavailableSealer } from '../secrets/index.js';
import { LegacyFactors } from './legacy-factors.js';

let fx: CoreFixture;
beforeEach(async () => {
  fx = await openCoreFixture();
});
afterEach(() => fx.close());

it('hashes at m=19 MiB, t=2, p=1 by default, and verifies hashes of any stored cost', async () => {
  const user = await fx.core.identity.users.add({ email: 'cost@acme.test' });
  const production = new LegacyFactors(fx.core.store.db, fx.clock, fx.core.secrets);
  await production.setPassword(user.id, 'correct horse battery staple');
  const row = await fx.core.store.db.selectFrom('legacy_factors').select('password_hash').where('user_id', '=', user.id).executeTakeFirstOrThrow();
  expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  // The fixture's cheaper instance verifies it too: the cost is read from the hash.
  expect(await fx.core.identity.legacy.verifyPassword(user.id, 'correct horse battery staple')).toBe(true);
  expect(await fx.core.identity.legacy.verifyPassword(user.id, 'wrong horse battery staple')).toBe(false);
});

it('TOTP secrets are sealed at rest: the database alone, a wrong key or a swapped row cannot produce a verification', async () => {
  const { db } = fx.core.store;
  const ann = await fx.core.identity.users.add({ email: 'ann@acme.test' });
  const bob = await fx.core.identity.users.add({ email: 'bob@acme.test' });
  const annSecret = await fx.core.identity.legacy.enrollTotp(ann.id);
  await fx.core.identity.legacy.enrollTotp(bob.id);
  const stored = async (userId: string) => (await db.selectFrom('legacy_factors').select('totp_secret').where('user_id', '=', userId).executeTakeFirstOrThrow()).totp_secret!;
  expect(await stored(ann.id)).toMatch(/^gh-sealed\.v1\./);
  expect(await stored(ann.id)).not.toContain(annSecret);

  const code = await LegacyFactors.codeFor(annSecret, fx.clock.now());
  // A copy of the database without the key-encryption key, and with another key.
  expect(await codeOf(new LegacyFactors(db, fx.clock, createUnavailableSealer()).verifyTotp(ann.id, code))).toBe('kek_not_configured');
  expect(await codeOf(new LegacyFactors(db, fx.clock, testSealer(OTHER_KEY_ENCRYPTION_KEY)).verifyTotp(ann.id, code))).toBe('sealed_value_unknown_key');
  // Ann's sealed secret copied into Bob's row does not open there: the seal names its user.
  await db.updateTable('legacy_factors').set({ totp_secret: await stored(ann.id) }).where('user_id', '=', bob.id).execute();
  expect(await codeOf(fx.core.identity.legacy.verifyTotp(bob.id, code))).toBe('sealed_value_auth_failed');
  // A plaintext secret written into the table is refused, not used.
  await db.updateTable('legacy_factors').set({ totp_secret: annSecret }).where('user_id', '=', bob.id).execute();
  expect(await codeOf(fx.core.identity.legacy.verifyTotp(bob.id, code))).toBe('sealed_value_plaintext');
  // With the right key, Ann's own code verifies (once).
  expect(await fx.core.identity.legacy.verifyTotp(ann.id, code)).toBe(true);
  expect(await fx.core.identity.legacy.verifyTotp(ann.id, code)).toBe(false);
});
