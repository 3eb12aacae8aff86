/**
 * The CLI keeps a usable administrator (active, in an admin group, with a key): `user disable`,
 * `user group remove` and `user remove-key` refuse with `last_admin` (exit 1, nothing changed) when the
 * change would leave nobody who can use the console, unless the operator passes `--allow-no-admin`,
 * which the audit event then records. The threat is the slip: a mistyped email or a cleanup script on
 * the host that strips the last administrator, after which only a database edit gets anyone back in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
let seeded = 0;
const gatehouse = (args: string[]) => runGatehouse(args, { config: fx.configPath });

beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

/** An administrator who can use the console: active, in `admins`, with one key (`key-<name>`). */
async function usableAdmin(name: string): Promise<string> {
  const { identity, store } = fx.gatehouse.core;
  const user = await identity.addUser({ email: `${name}@acme.test`, groups: ['admins'], actor: 'test' });
  seeded += 1;
  await store.db
    .insertInto('credentials')
    .values({ id: `key-${name}`, user_id: user.id, name: 'Desk key', public_key: 'AA', counter: 0, aaguid: '0', transports: '["usb"]', authenticator_class: 'hwk', backed_up: 0, created_at: Date.now() + seeded, last_used_at: null, model: null, attestation: 'packed', added_ip: null, added_user_agent: null })
    .execute();
  return user.id;
}

async function state(email: string): Promise<{ status: string; groups: string[]; keys: number }> {
  const { identity } = fx.gatehouse.core;
  const user = await identity.users.require(email);
  return { status: user.status, groups: user.groups, keys: await identity.credentials.countForUser(user.id) };
}

describe('the CLI keeps a usable administrator', () => {
  it('refuses to disable, ungroup or remove the key of the last usable administrator: exit 1, last_admin, nothing changed, the message names who is left', async () => {
    await usableAdmin('only');
    // A keyless admin cannot reach the console: it does not count, and the refusal names it.
    await fx.gatehouse.core.identity.addUser({ email: 'keyless@acme.test', groups: ['admins'], actor: 'test' });
    const before = await state('only@acme.test');
    expect(before).toEqual({ status: 'active', groups: ['admins'], keys: 1 });

    for (const args of [
      ['user', 'disable', 'only@acme.test'],
      ['user', 'group', 'remove', 'only@acme.test', 'admins'],
      ['user', 'remove-key', 'only@acme.test', 'key-only'],
    ]) {
      const result = await gatehouse(args);
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toContain('[last_admin]');
      expect(result.stderr).toContain('only@acme.test is the last administrator who can sign in with a key');
      expect(result.stderr).toContain('keyless@acme.test (no key)');
      expect(result.stderr).toContain('--allow-no-admin');
      expect(await state('only@acme.test')).toEqual(before);
    }
    const { audit } = fx.gatehouse.core;
    const only = await fx.gatehouse.core.identity.users.require('only@acme.test');
    // Each refusal is audited as a failure with the code; no success event was written.
    for (const type of ['user.disabled', 'user.group_removed', 'key.removed'] as const) {
      expect({ type, events: (await audit.list({ type, userId: only.id })).map((e) => [e.outcome, e.code, e.actor]) }).toEqual({ type, events: [['failure', 'last_admin', 'cli']] });
    }
  });

  it('a non-last administrator is disabled, ungrouped and has a key removed as before, with no override in the event', async () => {
    for (const name of ['second-d', 'second-g', 'second-k']) await usableAdmin(name);
    expect((await gatehouse(['user', 'disable', 'second-d@acme.test'])).code).toBe(0);
    expect((await gatehouse(['user', 'group', 'remove', 'second-g@acme.test', 'admins'])).code).toBe(0);
    expect((await gatehouse(['user', 'remove-key', 'second-k@acme.test', 'key-second-k'])).code).toBe(0);
    expect(await state('second-d@acme.test')).toMatchObject({ status: 'disabled' });
    expect(await state('second-g@acme.test')).toMatchObject({ groups: [] });
    expect(await state('second-k@acme.test')).toMatchObject({ keys: 0 });
    const { audit, identity } = fx.gatehouse.core;
    const [disabled] = await audit.list({ type: 'user.disabled', userId: (await identity.users.require('second-d@acme.test')).id });
    expect(disabled?.detail ?? {}).not.toHaveProperty('allowNoAdmin');
    const [removed] = await audit.list({ type: 'key.removed', userId: (await identity.users.require('second-k@acme.test')).id });
    expect(removed).toMatchObject({ outcome: 'success' });
    expect(removed?.detail).not.toHaveProperty('allowNoAdmin');
  });

  it('--allow-no-admin goes through and the audit event records the flag', async () => {
    const { audit, identity } = fx.gatehouse.core;
    // `only` is the one usable administrator left by the tests above.
    expect(await gatehouse(['user', 'disable', 'only@acme.test', '--allow-no-admin'])).toMatchObject({ code: 0 });
    expect(await state('only@acme.test')).toMatchObject({ status: 'disabled' });
    const disabled = (await audit.list({ type: 'user.disabled', userId: (await identity.users.require('only@acme.test')).id })).filter((e) => e.outcome === 'success');
    expect(disabled).toEqual([expect.objectContaining({ actor: 'cli', detail: { allowNoAdmin: true } })]);

    const ungrouped = await usableAdmin('flag-g');
    expect(await gatehouse(['user', 'group', 'remove', 'flag-g@acme.test', 'admins', '--allow-no-admin'])).toMatchObject({ code: 0 });
    expect(await state('flag-g@acme.test')).toMatchObject({ groups: [] });
    const [removal] = await audit.list({ type: 'user.group_removed', userId: ungrouped });
    expect(removal).toMatchObject({ actor: 'cli', detail: { groups: ['admins'], allowNoAdmin: true } });

    const keyed = await usableAdmin('flag-k');
    expect(await gatehouse(['user', 'remove-key', 'flag-k@acme.test', 'key-flag-k', '--allow-no-admin'])).toMatchObject({ code: 0 });
    expect(await state('flag-k@acme.test')).toMatchObject({ keys: 0 });
    const [keyRemoved] = await audit.list({ type: 'key.removed', userId: keyed });
    expect(keyRemoved).toMatchObject({ outcome: 'success', actor: 'cli', detail: { credential: 'key-flag-k', allowNoAdmin: true } });
  });
});
