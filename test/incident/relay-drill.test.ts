/**
 * The 2022 drill end to end: a lookalike domain, three users who typed their password into
 * a real-time relay (their audit rows written by the real sign-in service), one declaration through the
 * admin API with a security-key session. Every containment step is then checked on a SECOND Gatehouse
 * process sharing PostgreSQL: sessions refused there, the relay's address refused there (apps and
 * portal), the domain blocked by its DNS gateway (real `dig`). The warning email arrives at a real SMTP
 * server, the webhook at a local receiver, and the STIX bundle validates against the OASIS schemas.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digAnswers, digStatus } from '../../src/dns/test-support/dig.js';
import { startUpstreamFixture, type UpstreamFixture } from '../../src/dns/test-support/upstream-fixture.js';
import type { IncidentView } from '../../src/incident/index.js';
import { haveCommand, havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { fixtureConfigYaml, freePort, freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';
import { spawnGatehouse, type GatehouseProcess } from '../support/serve-process.js';
import { startMailSink, type MailSink } from './mail-sink.js';
import { RELAY_IP, relayDowngrade, relayFullSignIn, relayReplayedCode, withLegacyFactors } from './relay-victims.js';
import { stixValidator } from './stix-schema-validator.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const ready = (await havePostgres()) && haveCommand('dig');
const LOOKALIKE = 'acme-okta.com';

async function pollUntil(what: string, check: () => Promise<boolean>, limitMs = 10_000): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > limitMs) throw new Error(`${what}: not seen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

describe.runIf(ready)('2022 drill: one declaration contains the relay on every instance', () => {
  let upstreamApp: http.Server;
  let dnsUpstream: UpstreamFixture;
  let mail: MailSink;
  let hooks: WebhookReceiver;
  let a: GatehouseFixture;
  let b: GatehouseProcess;
  let portB: number;
  let dnsPortB: number;

  beforeAll(async () => {
    upstreamApp = http.createServer((_req, res) => res.end('wiki'));
    await new Promise<void>((r) => upstreamApp.listen(0, '127.0.0.1', r));
    dnsUpstream = await startUpstreamFixture({ records: { [`login.${LOOKALIKE}`]: [{ type: 'A', data: '203.0.113.80', ttl: 300 }] } });
    mail = await startMailSink();
    hooks = await startWebhookReceiver();
    const databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_incident_drill');
    const shared = `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: http://127.0.0.1:${(upstreamApp.address() as AddressInfo).port}
    policies: [{ action: allow, include: [{ everyone: true }] }]
access:
  trusted_proxies: ["127.0.0.1/32", "::1/128"]
incident:
  webhook_url: ${hooks.url}
  smtp: { host: 127.0.0.1, port: ${mail.port}, secure: false, from: "Acme Security <security@acme.test>" }
`;
    a = await startFixture({ databaseUrl, extraYaml: shared, legacy: { password: true, totp: true } });
    portB = await freePort();
    dnsPortB = await freePort();
    const configB = join(a.dir, 'instance-b.yaml');
    writeFileSync(
      configB,
      fixtureConfigYaml({
        dir: a.dir,
        port: portB,
        databaseUrl,
        legacy: { password: true, totp: true },
        extraYaml: `${shared}dns:
  enabled: true
  listen: { address: 127.0.0.1, port: ${dnsPortB} }
  upstreams: ["127.0.0.1:${dnsUpstream.port}"]
  age: { enabled: false }
`,
      }),
    );
    b = await spawnGatehouse(configB);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await mail?.close();
    await hooks?.close();
    await dnsUpstream?.close();
    await new Promise((r) => upstreamApp?.close(r));
  });

  it('contains the relay with one declaration, on the other instance too', async () => {
    const core = a.gatehouse.core;
    const portalB = (path: string) => `http://${a.portalHost}:${portB}${path}`;
    const sessionWorksOnB = async (token: string) => {
      const browser = new TestBrowser(portB);
      browser.cookies(a.portalHost).set('gatehouse_session', token);
      return (await browser.fetch(portalB('/account'))).status === 200;
    };

    // Staff: an administrator, a bystander and a user who only clicked the SMS link, all with keys.
    const adminBrowser = new TestBrowser(a.port);
    await enrolThroughPortal(a, adminBrowser, 'admin@acme.test', ['admins']);
    const bystanderBrowser = new TestBrowser(a.port);
    await enrolThroughPortal(a, bystanderBrowser, 'bystander@acme.test');
    const clickerBrowser = new TestBrowser(a.port);
    await enrolThroughPortal(a, clickerBrowser, 'clicker@acme.test');
    const keyVictimBrowser = new TestBrowser(a.port);
    await enrolThroughPortal(a, keyVictimBrowser, 'carol@acme.test');

    // The three who typed their password into the relay.
    const alice = await withLegacyFactors(core, 'alice@acme.test');
    const bob = await withLegacyFactors(core, 'bob@acme.test');
    const carol = await withLegacyFactors(core, 'carol@acme.test', (await core.identity.users.require('carol@acme.test')).id);
    const stolenSession = await relayFullSignIn(core, alice);
    expect(await relayReplayedCode(core, bob)).toBe('bad_totp');
    expect(await relayDowngrade(core, carol)).toBe('legacy_downgrade_refused');
    // The clicker's laptop resolved the lookalike through per-user DoH (the gateway's query log).
    const clicker = await core.identity.users.require('clicker@acme.test');
    await core.store.db
      .insertInto('dns_queries')
      .values({ at: core.clock.now(), client: '10.1.2.3', user_id: clicker.id, protocol: 'doh', name: `login.${LOOKALIKE}`, type: 'A', verdict: 'allow', reason: 'upstream', latency_ms: 3 })
      .execute();

    // Before: everything works on instance B.
    const tokenOf = (browser: TestBrowser) => browser.cookies(a.portalHost).get('gatehouse_session')!;
    for (const token of [stolenSession, tokenOf(clickerBrowser), tokenOf(keyVictimBrowser), tokenOf(bystanderBrowser), tokenOf(adminBrowser)]) expect(await sessionWorksOnB(token)).toBe(true);
    const relayOnB = new TestBrowser(portB);
    const fromRelay = { 'x-forwarded-for': RELAY_IP };
    expect((await relayOnB.fetch(`http://wiki.acme.localhost:${portB}/`, { headers: fromRelay })).status).toBe(302);
    const before = await dig(dnsPortB, [`login.${LOOKALIKE}`, 'A']);
    expect(digAnswers(before).map((r) => r.data)).toEqual(['203.0.113.80']);

    // One declaration, through the admin API, by an administrator signed in with a key.
    const session = JSON.parse((await adminBrowser.fetch(`${a.portalOrigin}/admin/api/session`)).body) as { csrfToken: string };
    const declared = await adminBrowser.fetch(`${a.portalOrigin}/admin/api/incidents`, {
      method: 'POST',
      headers: { origin: a.portalOrigin, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'SMS phishing via acme-okta.com', domains: [LOOKALIKE], ips: [RELAY_IP], urls: [`https://login.${LOOKALIKE}/signin`] }),
    });
    expect(declared.status, declared.body).toBe(201);
    const { incident, run } = JSON.parse(declared.body) as { incident: IncidentView; run: { state: string } };
    expect(run.state).toBe('complete');
    expect(incident.timeline.map((t) => [t.step, t.status])).toEqual([
      ['revoke_credentials', 'done'],
      ['block_domains', 'done'],
      ['block_ips', 'done'],
      ['hunt', 'done'],
      ['revoke_sessions', 'done'],
      ['force_reenrollment', 'done'],
      ['notify', 'done'],
      ['export_stix', 'done'],
    ]);
    for (const entry of incident.timeline) expect(entry.endedAt! >= entry.startedAt!).toBe(true);

    // The hunts found exactly the three relay victims and the clicker.
    const contained = Object.fromEntries(incident.users.map((u) => [u.email, u.sources]));
    expect(Object.keys(contained).sort()).toEqual(['alice@acme.test', 'bob@acme.test', 'carol@acme.test', 'clicker@acme.test']);
    expect(contained['alice@acme.test']).toEqual(expect.arrayContaining(['hunt:password-without-key', 'hunt:from-ip']));
    expect(contained['bob@acme.test']).toContain('hunt:password-without-key');
    expect(contained['clicker@acme.test']).toEqual(['hunt:resolved-domain']);

    // On instance B: contained sessions refused, the others untouched.
    const seen = await pollUntil('revocation on B', async () => !(await sessionWorksOnB(stolenSession)));
    expect(await sessionWorksOnB(tokenOf(clickerBrowser))).toBe(false);
    expect(await sessionWorksOnB(tokenOf(keyVictimBrowser))).toBe(false);
    expect(await sessionWorksOnB(tokenOf(bystanderBrowser))).toBe(true);
    expect(await sessionWorksOnB(tokenOf(adminBrowser))).toBe(true);
    // The relay's address: refused by the app and by the portal on B; other addresses are not.
    await pollUntil('IP block on B', async () => (await relayOnB.fetch(`http://wiki.acme.localhost:${portB}/`, { headers: fromRelay })).status === 403);
    expect((await relayOnB.fetch(portalB('/sign-in'), { headers: fromRelay })).status).toBe(403);
    expect((await relayOnB.fetch(`http://wiki.acme.localhost:${portB}/`, { headers: { 'x-forwarded-for': '192.0.2.44' } })).status).toBe(302);
    // The lookalike and its subdomains: blocked by B's DNS gateway.
    await pollUntil('domain block on B', async () => digStatus(await dig(dnsPortB, [`login.${LOOKALIKE}`, 'A'])) === 'NXDOMAIN');
    expect(digStatus(await dig(dnsPortB, [`www.${LOOKALIKE}`, 'AAAA']))).toBe('NXDOMAIN');
    process.stdout.write(`[measured] revocation seen by instance B ${seen.toFixed(1)} ms after the declaration returned\n`);

    // Re-enrollment: factors the relay holds are gone, a new key proof is required.
    for (const victim of [alice, bob, carol]) {
      expect(await core.identity.legacy.has(victim.userId)).toEqual({ password: false, totp: false });
      expect((await core.identity.users.require(victim.email)).reenrollRequired).toBe(true);
    }
    await expect(relayFullSignIn(core, alice)).rejects.toMatchObject({ code: 'bad_credentials' });

    // Email: one warning per active user, one fresh enrollment link per contained user without a key.
    const warnings = mail.messages.filter((m) => m.subject.includes('Phishing attack in progress'));
    const invites = mail.messages.filter((m) => m.subject.includes('Register a security key'));
    expect(warnings.map((m) => m.to[0]).sort()).toEqual(['admin@acme.test', 'alice@acme.test', 'bob@acme.test', 'bystander@acme.test', 'carol@acme.test', 'clicker@acme.test']);
    expect(invites.map((m) => m.to[0]).sort()).toEqual(['alice@acme.test', 'bob@acme.test']);
    expect(new Set(mail.messages.map((m) => m.messageId)).size).toBe(mail.messages.length);
    expect(warnings[0]!.text).toContain('acme-okta[.]com');
    expect(warnings[0]!.text).toContain('We will never ask for your password or your code');
    expect(warnings[0]!.text).toContain(a.portalOrigin);
    const link = /(http:\/\/\S+\/enroll\?token=\S+)/.exec(invites[0]!.text)![1]!;
    await expect(core.identity.ctx.invites.findUsable(new URL(link).searchParams.get('token')!)).resolves.toMatchObject({ userId: expect.any(String) });

    // Webhook: one Slack-compatible message about the incident. The channel is shared with key-change
    // notices of the enrollments and the admin-group watcher (which may or may not see the fixture's
    // admin arrive, depending on when it first polls), so only the incident's messages count. Delivery
    // is at least once: a send that timed out on a loaded machine is sent again with the same
    // Idempotency-Key, which the receiver uses to drop the copy, so messages are counted by key.
    const warned = [...new Map(hooks.received.filter((h) => h.idempotencyKey?.startsWith('inc-')).map((h) => [h.idempotencyKey, h])).values()];
    expect(warned).toHaveLength(1);
    expect(warned[0]!.contentType).toBe('application/json');
    expect(warned[0]!.body.text).toContain('SMS phishing via acme-okta.com');
    expect(warned[0]!.body.blocks).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'header' })]));

    // STIX 2.1: the bundle validates against the OASIS schemas and carries the indicators.
    const shown = JSON.parse((await adminBrowser.fetch(`${a.portalOrigin}/admin/api/incidents/${incident.id}`)).body) as IncidentView;
    const schema = stixValidator();
    const validate = schema('common/bundle');
    expect(validate(shown.stix), JSON.stringify(validate.errors)).toBe(true);
    const patterns = (shown.stix as { objects: { type: string; pattern?: string }[] }).objects.filter((o) => o.type === 'indicator').map((o) => o.pattern);
    expect(patterns).toEqual([`[domain-name:value = '${LOOKALIKE}']`, `[ipv4-addr:value = '${RELAY_IP}']`, `[url:value = 'https://login.${LOOKALIKE}/signin']`]);

    // The audit chain, which the hunts read, is still intact after all of it.
    const { verifyAuditChain } = await import('../../src/audit/index.js');
    expect((await verifyAuditChain(core.store.db)).ok).toBe(true);
  });
});
