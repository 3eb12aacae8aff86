/**
 * Unusual use of a service token, end to end through the real access proxy over real sockets: a first
 * use from a network the token never used reaches the responders' webhook, the owner's mailbox and the
 * audit log; the use of a token believed unused is the loudest alert and suspends the token on every
 * instance until an admin resumes it; two instances flushing uses from the same new network alert once.
 * Every wait is a bounded poll: detection happens when recorded use is written (every 100 ms here).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedServiceToken } from '../../src/credentials/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { startMailSink, type MailSink } from '../incident/mail-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from '../incident/webhook-receiver.js';
import { runGatehouse } from '../support/cli.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let upstream: http.Server;
let hooks: WebhookReceiver;
let mail: MailSink;
const POLL = { timeout: 15_000, interval: 50 };

function configYaml(upstreamPort: number, options: { smtp?: boolean } = {}): string {
  return `apps:
  - name: deploy
    host: deploy.acme.localhost
    upstream: http://127.0.0.1:${upstreamPort}
    policies:
      - { name: machines, action: allow, include: [{ service_token_tag: [ci] }] }
  - name: wiki
    host: wiki.acme.localhost
    upstream: http://127.0.0.1:${upstreamPort}
    policies:
      - { name: machines, action: allow, include: [{ service_token_tag: [ci] }] }
service_tokens:
  last_use_flush_ms: 100
incident:
  webhook_url: ${hooks.url}
${options.smtp ? `  smtp: { host: 127.0.0.1, port: ${mail.port}, from: "security@acme.test", pool_size: 1 }\n` : ''}`;
}

/** One request from a chosen local address (all of 127/8 is loopback on Linux): a client on another /24. */
function requestFrom(port: number, localAddress: string, app: string, token: Pick<IssuedServiceToken, 'clientId' | 'secret'>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      localAddress,
      path: '/',
      agent: false,
      headers: { host: `${app}.acme.localhost:${port}`, 'Gatehouse-Client-Id': token.clientId, 'Gatehouse-Client-Secret': token.secret },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('upstream'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  hooks = await startWebhookReceiver();
  mail = await startMailSink();
});
afterAll(async () => {
  await new Promise((r) => upstream?.close(r));
  await hooks?.close();
  await mail?.close();
});

const upstreamPort = () => (upstream.address() as AddressInfo).port;
const create = (fx: GatehouseFixture, name: string) => fx.gatehouse.serviceTokens.create({ name, owner: 'build@acme.test', tags: ['ci'], apps: ['deploy', 'wiki'], actor: 'admin@acme.test' });
const alertsAbout = (name: string) => hooks.received.map((h) => h.body.text ?? '').filter((text) => text.toLowerCase().includes(`service token ${name} `));
const anomalyEvents = async (fx: GatehouseFixture, name: string) => (await fx.gatehouse.core.audit.list({ type: 'incident.alert' })).filter((e) => e.code === 'service_token_anomaly' && e.detail.name === name);

describe('one instance', () => {
  let fx: GatehouseFixture;
  beforeAll(async () => {
    fx = await startFixture({ extraYaml: configYaml(upstreamPort(), { smtp: true }) });
  });
  afterAll(() => fx?.close());

  it('a first use from a new /24 alerts the webhook, the owner and the audit log, and the token keeps working', async () => {
    const issued = await create(fx, 'ci-deploy');
    expect((await requestFrom(fx.port, '127.0.0.1', 'deploy', issued)).status).toBe(200);
    await expect.poll(async () => (await fx.gatehouse.serviceTokens.show('ci-deploy')).lastUsedIp, POLL).toBe('127.0.0.1');
    expect(alertsAbout('ci-deploy')).toEqual([]); // a new token's first network is its baseline

    expect((await requestFrom(fx.port, '127.0.1.1', 'deploy', issued)).status).toBe(200);
    await expect.poll(() => alertsAbout('ci-deploy').length, POLL).toBe(1);
    const [text] = alertsAbout('ci-deploy');
    expect(text).toContain('never used (127.0.1.0/24)');
    expect(text).toContain('from 127.0.1.1 on deploy');
    expect(text).not.toContain('CRITICAL');
    const [event] = await anomalyEvents(fx, 'ci-deploy');
    expect(event).toMatchObject({ outcome: 'info', actor: 'system:token-anomaly', ip: '127.0.1.1' });
    expect(event!.detail).toMatchObject({ kind: 'new_network', severity: 'warning', network: '127.0.1.0/24', address: '127.0.1.1', app: 'deploy', owner: 'build@acme.test', suspended: false });
    await expect.poll(() => mail.messages.filter((m) => m.to.includes('build@acme.test') && m.subject.includes('ci-deploy')).length, POLL).toBe(1);
    expect(mail.messages.find((m) => m.to.includes('build@acme.test') && m.subject.includes('ci-deploy'))!.text).toContain('From address: 127.0.1.1');
    // New network alone: alert, no suspension (service_tokens.anomalies.suspend_on default).
    expect((await fx.gatehouse.serviceTokens.show('ci-deploy')).status).toBe('active');
    expect((await requestFrom(fx.port, '127.0.1.1', 'deploy', issued)).status).toBe(200);

    // A new app from a known network is its own alert.
    expect((await requestFrom(fx.port, '127.0.1.1', 'wiki', issued)).status).toBe(200);
    await expect.poll(() => alertsAbout('ci-deploy').length, POLL).toBe(2);
    expect(alertsAbout('ci-deploy')[1]).toContain('app it had never used (wiki)');
    // No alert, audit event or log line holds the secret.
    const all = JSON.stringify([hooks.received, mail.messages, await fx.gatehouse.core.audit.list({ type: 'incident.alert' }), fx.logs]);
    expect(all).not.toContain(issued.secret.slice('gh-secret-'.length));
  });

  it('a token believed unused that is used: critical alert, suspended everywhere until resumed', async () => {
    const issued = await create(fx, 'old-sync');
    const marked = await runGatehouse(['tokens', 'mark-unused', 'old-sync'], { config: fx.configPath });
    expect(marked.code).toBe(0);
    await expect.poll(async () => (await requestFrom(fx.port, '127.0.0.1', 'deploy', issued)).status, POLL).toBe(403); // used once (200), then suspended
    await expect.poll(() => alertsAbout('old-sync').some((t) => t.startsWith(':rotating_light: CRITICAL')), POLL).toBe(true);
    const critical = alertsAbout('old-sync').find((t) => t.startsWith(':rotating_light: CRITICAL'))!;
    expect(critical).toContain('believed unused');
    expect(critical).toContain('gatehouse tokens resume old-sync');
    const shown = await fx.gatehouse.serviceTokens.show('old-sync');
    expect(shown).toMatchObject({ status: 'suspended', statusReason: expect.stringContaining('token anomaly believed_unused_used') });
    const suspension = (await fx.gatehouse.core.audit.list({ type: 'service_token.suspended' })).find((e) => e.detail.name === 'old-sync');
    expect(suspension).toMatchObject({ actor: 'system:token-anomaly' });
    // Refusal events are written after the answer leaves (off the request path): poll for them.
    const refusedCodes = async () => (await fx.gatehouse.core.audit.list({ type: 'service_token.refused' })).filter((e) => e.detail.name === 'old-sync').map((e) => e.code);
    await expect.poll(refusedCodes, POLL).toContain('service_token_suspended');
    expect((await anomalyEvents(fx, 'old-sync')).find((e) => e.detail.kind === 'believed_unused_used')).toMatchObject({ detail: { severity: 'critical', suspended: true } });

    // Resumed while the mark stands: it works again, and its next use suspends it again (fail closed).
    expect((await runGatehouse(['tokens', 'resume', 'old-sync'], { config: fx.configPath })).code).toBe(0);
    await expect.poll(async () => (await requestFrom(fx.port, '127.0.0.1', 'deploy', issued)).status, POLL).toBe(200);
    await expect.poll(async () => (await fx.gatehouse.serviceTokens.show('old-sync')).status, POLL).toBe('suspended');
    await expect.poll(() => alertsAbout('old-sync').filter((t) => t.startsWith(':rotating_light: CRITICAL')).length, POLL).toBe(2);

    // Resumed with the mark withdrawn: it works and stays working.
    expect((await runGatehouse(['tokens', 'mark-unused', 'old-sync', '--clear'], { config: fx.configPath })).code).toBe(0);
    expect((await runGatehouse(['tokens', 'resume', 'old-sync'], { config: fx.configPath })).code).toBe(0);
    await expect.poll(async () => (await requestFrom(fx.port, '127.0.0.1', 'deploy', issued)).status, POLL).toBe(200);
    const usedAt = (await fx.gatehouse.serviceTokens.show('old-sync')).lastUsedAt;
    await fx.gatehouse.serviceTokens.flushUse();
    expect((await fx.gatehouse.serviceTokens.show('old-sync')).status).toBe('active');
    expect((await requestFrom(fx.port, '127.0.0.1', 'deploy', issued)).status).toBe(200);
    expect(usedAt).toBeDefined();
  });
});

const pgAvailable = await havePostgres();

for (const engine of [{ name: 'one SQLite file', postgres: false }, ...(pgAvailable ? [{ name: 'PostgreSQL', postgres: true }] : [])]) {
  describe(`two instances (${engine.name})`, () => {
    let a: GatehouseFixture;
    let b: GatehouseFixture;
    beforeAll(async () => {
      const databaseUrl = engine.postgres ? await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_token_anomaly_proxy') : undefined;
      a = await startFixture({ extraYaml: configYaml(upstreamPort()), ...(databaseUrl ? { databaseUrl } : {}) });
      b = await startFixture({ extraYaml: configYaml(upstreamPort()), ...(databaseUrl ? { databaseUrl } : { dir: a.dir }) });
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    it('uses from the same new network on both instances alert once', async () => {
      const name = `shared-${engine.postgres ? 'pg' : 'sqlite'}`;
      const issued = await create(a, name);
      await b.gatehouse.feed.pollNow();
      expect((await requestFrom(a.port, '127.0.0.1', 'deploy', issued)).status).toBe(200);
      await expect.poll(async () => (await a.gatehouse.serviceTokens.show(name)).lastUsedIp, POLL).toBe('127.0.0.1');
      const both = await Promise.all([requestFrom(a.port, '127.0.2.1', 'deploy', issued), requestFrom(b.port, '127.0.2.2', 'deploy', issued)]);
      expect(both.map((r) => r.status)).toEqual([200, 200]);
      // Stopping the writers writes what is pending and waits for the alerts they started.
      await Promise.all([a.gatehouse.serviceTokens.stop(), b.gatehouse.serviceTokens.stop()]);
      expect(alertsAbout(name)).toHaveLength(1);
      expect(alertsAbout(name)[0]).toContain('(127.0.2.0/24)');
      expect(await anomalyEvents(a, name)).toHaveLength(1);
    });
  });
}
