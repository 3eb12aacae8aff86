/**
 * Every key that comes into existence or goes away reaches its owner by email and the responders by
 * webhook, with the address, the browser and the key's model: a key nobody expected is how a phished
 * session or a leaked invite link turns into lasting access. Once per event across instances; a
 * delivery that fails is retried, not lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';
import { startMailSink, type MailSink } from './mail-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

describe('key-change notices', () => {
  let fx: GatehouseFixture;
  let mail: MailSink;
  let hooks: WebhookReceiver;

  beforeAll(async () => {
    mail = await startMailSink();
    hooks = await startWebhookReceiver();
    fx = await startFixture({
      extraYaml: `incident:
  webhook_url: ${hooks.url}
  admin_watch_interval_ms: 100
  smtp: { host: 127.0.0.1, port: ${mail.port}, from: "security@acme.test", pool_size: 1 }
`,
    });
  });
  afterAll(async () => {
    await fx?.close();
    await mail?.close();
    await hooks?.close();
  });

  it('an enrollment and a removal each notify the owner and the responders once, with where and how', async () => {
    const browser = new TestBrowser(fx.port);
    const key = await enrolThroughPortal(fx, browser, 'kim@acme.test');
    await expect.poll(() => mail.messages.filter((m) => m.to.includes('kim@acme.test')).length, { timeout: 10_000 }).toBe(1);
    const [enrolled] = mail.messages;
    expect(enrolled!.subject).toContain('A first security key was registered to your account');
    expect(enrolled!.text).toContain('Key: Test key');
    expect(enrolled!.text).toContain('From address: 127.0.0.1');
    expect(enrolled!.text).not.toMatch(/https?:\/\/\S+\?/); // no link with a token or query to click
    await expect.poll(() => hooks.received.length, { timeout: 10_000 }).toBe(1);
    expect(hooks.received[0]!.body.text).toContain('kim@acme.test');

    const user = await fx.gatehouse.core.identity.users.require('kim@acme.test');
    await fx.gatehouse.core.identity.removeKey(user.id, key.id, { byAdmin: true, actor: 'cli' });
    await expect.poll(() => mail.messages.length, { timeout: 10_000 }).toBe(2);
    expect(mail.messages[1]!.subject).toContain('A security key was removed from your account');
    expect(mail.messages[1]!.text).toContain('By: cli');
    await expect.poll(() => hooks.received.length, { timeout: 10_000 }).toBe(2);
    const alerts = (await fx.gatehouse.core.audit.list({ type: 'incident.alert' })).filter((e) => e.code === 'key_change');
    expect(alerts.map((e) => (e.detail as { kind: string }).kind).sort()).toEqual(['enrollment', 'key.removed']);
    // Each notice was sent once, under a stable key (a retry would reuse it).
    expect(new Set(mail.messages.map((m) => m.idempotencyKey)).size).toBe(2);
  });

  it('a channel that fails is retried on its own; the owner is not emailed again meanwhile', async () => {
    hooks.status = 500;
    const before = { mail: mail.messages.length, hooks: hooks.received.length };
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'lee@acme.test');
    await expect.poll(() => mail.messages.length - before.mail, { timeout: 10_000 }).toBe(1);
    // Several looks go by with the webhook refusing (interval 100 ms); the email is not sent again.
    await new Promise((r) => setTimeout(r, 600));
    expect(mail.messages.length - before.mail).toBe(1);
    expect(hooks.received.length).toBe(before.hooks);
    hooks.status = 200;
    await expect.poll(() => hooks.received.length - before.hooks, { timeout: 10_000 }).toBe(1);
    expect(hooks.received.at(-1)!.body.text).toContain('lee@acme.test');
    await new Promise((r) => setTimeout(r, 400));
    expect(hooks.received.length - before.hooks).toBe(1); // delivered: no more tries
    const alerts = (await fx.gatehouse.core.audit.list({ type: 'incident.alert' })).filter((e) => e.code === 'key_change' && e.detail.kind === 'enrollment');
    expect(alerts).toHaveLength(2); // kim's and lee's, one each despite the retries
  });
});
