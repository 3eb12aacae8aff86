/**
 * Hunts against rows written by the real services (sign-in, enrollment, invites, the DNS query log),
 * with their negatives; and the alerts: a lookalike query raises one webhook per domain and cooldown
 * (and declares an incident where configured), an admin-group addition raises one alert.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIncidentResponse, type IncidentResponse } from '../../src/incident/index.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal, signInThroughPortal } from '../support/portal-sign-in.js';
import { RELAY_IP, relayFullSignIn, relayReplayedCode, withLegacyFactors } from './relay-victims.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

async function until(check: () => boolean, limitMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('hunts and alerts', () => {
  let fx: GatehouseFixture;
  let hooks: WebhookReceiver;
  let incidents: IncidentResponse;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    fx = await startFixture({
      legacy: { password: true, totp: true },
      extraYaml: `incident:
  webhook_url: ${hooks.url}
  auto_declare_on_lookalike: true
  alert_cooldown_minutes: 60
  admin_watch_interval_ms: 200
`,
    });
    incidents = createIncidentResponse({ core: fx.gatehouse.core, ipBlocks: fx.gatehouse.access.ipBlocks });
  });
  afterAll(async () => {
    await incidents?.dispose();
    await fx?.close();
    await hooks?.close();
  });

  it('password-without-key lists password proofs without a key proof, not wrong passwords nor key users', async () => {
    const core = fx.gatehouse.core;
    await relayFullSignIn(core, await withLegacyFactors(core, 'pat@acme.test'));
    await relayReplayedCode(core, await withLegacyFactors(core, 'quinn@acme.test'));
    const wrong = await withLegacyFactors(core, 'rory@acme.test');
    await expect(core.identity.legacySignIn({ email: wrong.email, password: 'not the password!', code: '' }, { ip: RELAY_IP, userAgent: 'x' })).rejects.toMatchObject({ code: 'bad_credentials' });
    // Sam typed the password into the relay but later signed in with a key in the window.
    const sam = new TestBrowser(fx.port);
    const key = await enrolThroughPortal(fx, sam, 'sam@acme.test');
    await relayReplayedCode(core, await withLegacyFactors(core, 'sam@acme.test', (await core.identity.users.require('sam@acme.test')).id));
    expect(await signInThroughPortal(fx, sam, key)).toBe(200);

    const result = await incidents.hunt('password-without-key', { since: '1h' });
    expect(result.users.map((u) => u.email)).toEqual(['pat@acme.test', 'quinn@acme.test']);
    expect(result.users[1]!.reasons).toEqual(['password right (bad_totp)']);
    expect(result.sessions.map((s) => [s.ip, s.phishingResistant])).toEqual([[RELAY_IP, false]]);
    expect(result.evidence.every((e) => e.source === 'audit' && e.type === 'sign_in')).toBe(true);
    expect(JSON.stringify(result)).not.toContain('correct horse');
  });

  it('from-ip matches addresses and ranges; resolved-domain matches subdomains, not look-alike suffixes', async () => {
    expect((await incidents.hunt('from-ip', { ips: ['198.51.100.0/24'] })).users.map((u) => u.email)).toEqual(['pat@acme.test', 'quinn@acme.test', 'rory@acme.test', 'sam@acme.test']);
    expect((await incidents.hunt('from-ip', { ips: ['203.0.113.9'] })).users).toEqual([]);
    const core = fx.gatehouse.core;
    const pat = await core.identity.users.require('pat@acme.test');
    const row = { at: core.clock.now(), protocol: 'doh', type: 'A', verdict: 'allow', reason: 'upstream', latency_ms: 1 };
    await core.store.db.insertInto('dns_queries').values([
      { ...row, client: '10.0.0.7', user_id: pat.id, name: 'login.acme-okta.com' },
      { ...row, client: '10.0.0.8', user_id: null, name: 'acme-okta.com' },
      { ...row, client: '10.0.0.9', user_id: null, name: 'notacme-okta.com' },
    ]).execute();
    const clicked = await incidents.hunt('resolved-domain', { domains: ['ACME-OKTA.com.'] });
    expect(clicked.clients).toEqual(['10.0.0.7', '10.0.0.8']);
    expect(clicked.users.map((u) => u.email)).toEqual(['pat@acme.test']);
    await expect(incidents.hunt('resolved-domain', { domains: ['%'] })).rejects.toMatchObject({ code: 'dns_invalid_domain' });
    await expect(incidents.hunt('from-ip', { ips: ['10.0.0.1/8'] })).rejects.toMatchObject({ code: 'incident_invalid_indicator' });
    // An IPv6 /32 is a network, not one host: the hunt must not narrow it to the address 2001:db8::.
    await core.audit.record({ type: 'sign_in', outcome: 'failure', code: 'bad_credentials', userId: pat.id, ip: '2001:db8:7::5' });
    expect((await incidents.hunt('from-ip', { ips: ['2001:db8::/32'] })).users.map((u) => u.email)).toEqual(['pat@acme.test']);
    expect((await incidents.hunt('from-ip', { ips: ['2001:db8:7::5'] })).users.map((u) => u.email)).toEqual(['pat@acme.test']);
    await expect(incidents.hunt('new-admins', { since: 'forever' })).rejects.toMatchObject({ code: 'invalid_duration' });
  });

  it('a lookalike query raises one alert per domain and cooldown, and declares one incident', async () => {
    const verdict = { action: 'block', lookalike: { score: 0.93, brand: 'acme', reasons: [{ code: 'brand_keyword_compound' }] }, reasons: [{ code: 'lookalike' }] };
    incidents.onLookalikeQuery({ name: 'login.acme-sso.com', client: { address: '10.0.0.7' }, verdict });
    incidents.onLookalikeQuery({ name: 'www.acme-sso.com', client: '10.0.0.8', verdict });
    incidents.onLookalikeQuery({ name: 'example.org', client: '10.0.0.8', verdict: { action: 'allow', reasons: [] } });
    await until(() => hooks.received.some((h) => h.body.text?.includes('lookalike')));
    await new Promise((r) => setTimeout(r, 300)); // room for a (wrong) second alert to arrive
    const alerts = hooks.received.filter((h) => h.body.text?.includes('lookalike'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.body.text).toContain('acme-sso[.]com');
    const declared = await incidents.list();
    expect(declared.map((i) => i.indicators.domains)).toContainEqual(['acme-sso.com']);
    expect(declared.find((i) => i.declaredBy === 'system:lookalike-alert')!.runState).toBe('complete');
    // A second instance deciding about the same domain is deduplicated by the shared claim.
    // (Other alerts share the webhook: key-change notices of the users enrolled above.)
    const lookalikeAlerts = () => hooks.received.filter((h) => h.body.text?.includes('lookalike')).length;
    const other = createIncidentResponse({ core: fx.gatehouse.core, ipBlocks: fx.gatehouse.access.ipBlocks });
    other.onLookalikeQuery({ name: 'acme-sso.com', client: '10.0.0.9', verdict });
    await new Promise((r) => setTimeout(r, 300));
    expect(lookalikeAlerts()).toBe(1);
  });

  it('adding a user to an admin group raises one alert, once across instances', async () => {
    const stopA = incidents.startWatchers();
    const other = createIncidentResponse({ core: fx.gatehouse.core, ipBlocks: fx.gatehouse.access.ipBlocks });
    const stopB = other.startWatchers();
    try {
      await fx.gatehouse.core.identity.invite({ email: 'mallory@acme.test', groups: ['admins'], actor: 'cli' });
      await until(() => hooks.received.some((h) => h.body.text?.includes('mallory@acme.test')), 15_000);
      await new Promise((r) => setTimeout(r, 300));
      const alerts = hooks.received.filter((h) => h.body.text?.includes('mallory@acme.test'));
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.body.text).toContain('"admins" by cli');
    } finally {
      await stopA();
      await stopB();
    }
  });
});
