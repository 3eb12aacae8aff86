/**
 * The first start's own administrator gets a calm notice, not "declare an incident"; every other
 * admin-group addition still gets the alert, including one dressed up as the first start's (the actor
 * `system:first-start` is only a string a database writer can forge).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const SCARY = 'If nobody expected this, declare an incident';

describe('first-start administrator notice', () => {
  let fx: GatehouseFixture;
  let hooks: WebhookReceiver;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    fx = await startFixture({ extraYaml: `incident:\n  webhook_url: ${hooks.url}\n  admin_watch_interval_ms: 100\n` });
  });
  afterAll(async () => {
    await fx?.close();
    await hooks?.close();
  });

  async function alertFor(email: string): Promise<string> {
    const start = Date.now();
    for (;;) {
      const hit = hooks.received.find((h) => h.body.text?.includes(email));
      if (hit) return hit.body.text!;
      if (Date.now() - start > 15_000) throw new Error(`no alert for ${email}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('the admin the first start invites gets the calm notice, and the audit log says so', async () => {
    const { core, incidents } = fx.gatehouse;
    incidents.expectFirstStartAdmin('admin@acme.localhost', 'admins');
    const invite = await core.identity.invite({ email: 'admin@acme.localhost', name: 'Administrator', groups: ['admins'], actor: 'system:first-start' });
    const text = await alertFor('admin@acme.localhost');
    expect(text).not.toContain(SCARY);
    expect(text).toContain('first start');
    const events = await core.store.db.selectFrom('audit_events').select(['code']).where('type', '=', 'incident.alert').where('user_id', '=', invite.user.id).execute();
    expect(events.map((e) => e.code)).toEqual(['admin_first_start']);
  });

  it('a later addition to the admin group still raises the alert', async () => {
    await fx.gatehouse.core.identity.invite({ email: 'later@acme.localhost', groups: ['admins'], actor: 'cli' });
    expect(await alertFor('later@acme.localhost')).toContain(SCARY);
  });

  it('a forged first-start marker (actor, name, audit event) without the running first start is still alerted', async () => {
    await fx.gatehouse.core.identity.invite({ email: 'forged@acme.localhost', name: 'Administrator', groups: ['admins'], actor: 'system:first-start' });
    expect(await alertFor('forged@acme.localhost')).toContain(SCARY);
  });

  it('an expectation matches only its own email, and only once', async () => {
    const { core, incidents } = fx.gatehouse;
    incidents.expectFirstStartAdmin('expected@acme.localhost', 'admins');
    await core.identity.invite({ email: 'other@acme.localhost', groups: ['admins'], actor: 'system:first-start' });
    expect(await alertFor('other@acme.localhost')).toContain(SCARY);
    await core.identity.invite({ email: 'expected@acme.localhost', groups: ['admins'], actor: 'system:first-start' });
    expect(await alertFor('expected@acme.localhost')).not.toContain(SCARY);
    const user = await core.identity.users.require('expected@acme.localhost');
    await core.identity.removeUserFromGroups(user.id, ['admins'], 'cli');
    const before = hooks.received.length;
    await core.identity.addUserToGroups(user.id, ['admins'], 'system:first-start');
    const start = Date.now();
    while (!hooks.received.slice(before).some((h) => h.body.text?.includes('expected@acme.localhost'))) {
      if (Date.now() - start > 15_000) throw new Error('no second alert');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(hooks.received.slice(before).find((h) => h.body.text?.includes('expected@acme.localhost'))!.body.text).toContain(SCARY);
  });
});
