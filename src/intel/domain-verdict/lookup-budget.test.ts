/**
 * The classifier's side of the per-client lookup budget and of the block page: who is charged for a
 * lookup, which verdicts must not be reused for other clients, and a verdict that never starts one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsAgeSchema } from '../../config/index.js';
import { dnsProtectSchema } from '../../config/index.js';
import { ManualClock } from '../../lib/clock.js';
import { createDomainAgeService, loadRdapBootstrapFile } from '../domain-age/index.js';
import { startRdapFixture, type RdapFixture } from '../domain-age/test-support/rdap-fixture-server.js';
import { createLookalikeDetector } from '../lookalike/index.js';
import { createDomainClassifier } from './domain-classifier.js';

const MINUTE = 60_000;
const shipped = loadRdapBootstrapFile();
const detector = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['acme'], domains: ['acme.com'] }));

let fixture: RdapFixture;
beforeAll(async () => {
  fixture = await startRdapFixture();
});
afterAll(async () => {
  await fixture.close();
});

function setup(config: Record<string, unknown> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 7, 20, 9, 0, 0));
  const parsed = dnsAgeSchema.parse({ rdap_overrides: { com: fixture.baseUrl, net: fixture.baseUrl }, time_budget_ms: 5000, ...config });
  const age = createDomainAgeService({ config: parsed, clock, bootstrap: { current: () => shipped }, rdapConnection: fixture.connection });
  return { clock, age, classifier: createDomainClassifier({ lookalike: detector, age, config: parsed, clock }) };
}

describe('per-client lookup budget in the verdict', () => {
  it('a client over its budget gets on_unknown for a new name, marked provisional; the next client gets the real verdict', async () => {
    const { clock, classifier } = setup({ client_lookups_per_window: 1, on_unknown: 'allow', young_action: 'block' });
    fixture.set('budget-spent.com', { kind: 'registered', registeredAt: Date.UTC(2001, 0, 1) });
    fixture.set('young-shop.com', { kind: 'registered', registeredAt: clock.now() - 20 * MINUTE });
    await classifier.classify('budget-spent.com', 'ip:203.0.113.5');
    const flooded = await classifier.classify('young-shop.com', 'ip:203.0.113.5');
    expect(flooded).toMatchObject({ action: 'allow', age: { state: 'unknown' }, reasons: [{ code: 'rdap_client_limit' }], provisional: true });
    expect(fixture.hits('young-shop.com')).toBe(0);
    const victim = await classifier.classify('young-shop.com', 'ip:10.1.1.1');
    expect(victim).toMatchObject({ action: 'block', age: { state: 'young' }, humanReason: 'registered 20 minutes ago' });
    expect(victim.provisional).toBeUndefined();
  });

  it('a name whose lookup cannot start because the shared cap is full is provisional too', async () => {
    const { clock, age, classifier } = setup({ max_concurrent_lookups: 1 });
    fixture.set('cap-holder.com', { kind: 'slow', delayMs: 200, registeredAt: Date.UTC(2001, 0, 1) });
    fixture.set('cap-victim.com', { kind: 'registered', registeredAt: clock.now() - 15 * MINUTE });
    const holding = classifier.classify('cap-holder.com', 'ip:192.0.2.1');
    const refused = await classifier.classify('cap-victim.com', 'ip:192.0.2.2');
    expect(refused).toMatchObject({ age: { state: 'unknown' }, reasons: [{ code: 'rdap_overloaded' }], provisional: true });
    await holding;
    await age.idle();
    expect(await classifier.classify('cap-victim.com', 'ip:192.0.2.2')).toMatchObject({ age: { state: 'young' } });
  });

  it('charges the background lookup of a lookalike to the client that asked', async () => {
    const { age, classifier } = setup({ client_lookups_per_window: 1 });
    fixture.set('acme-sso-one.com', { kind: 'registered', registeredAt: Date.UTC(2026, 7, 19) });
    fixture.set('acme-sso-two.com', { kind: 'registered', registeredAt: Date.UTC(2026, 7, 19) });
    expect(classifier.classifySync('acme-sso-one.com', 'ip:198.51.100.77')).toMatchObject({ action: 'block' });
    expect(classifier.classifySync('acme-sso-two.com', 'ip:198.51.100.77')).toMatchObject({ action: 'block' });
    await age.idle();
    expect(fixture.hits('acme-sso-one.com')).toBe(1);
    expect(fixture.hits('acme-sso-two.com')).toBe(0);
  });
});

describe('classifyKnown for the block page', () => {
  it('never starts a lookup: an unseen name is judged on its letters alone', async () => {
    const { age, classifier } = setup();
    fixture.set('random-host-header.com', { kind: 'registered', registeredAt: Date.UTC(2026, 7, 20) });
    fixture.set('acme-payroll.com', { kind: 'registered', registeredAt: Date.UTC(2026, 7, 20) });
    expect(classifier.classifyKnown('random-host-header.com')).toMatchObject({ action: 'allow', age: { state: 'not_checked' } });
    expect(classifier.classifyKnown('acme-payroll.com')).toMatchObject({ action: 'block', humanReason: 'looks like acme' });
    await age.idle();
    expect(fixture.hits('random-host-header.com')).toBe(0);
    expect(fixture.hits('acme-payroll.com')).toBe(0);
  });

  it('uses the age the DNS path already learned', async () => {
    const { clock, classifier } = setup();
    fixture.set('acme-okta-login.com', { kind: 'registered', registeredAt: clock.now() - 40 * MINUTE });
    await classifier.classify('acme-okta-login.com', 'ip:10.0.0.1');
    expect(classifier.classifyKnown('www.acme-okta-login.com')).toMatchObject({ action: 'block', humanReason: 'looks like acme; registered 40 minutes ago' });
    expect(fixture.hits('acme-okta-login.com')).toBe(1);
  });
});
