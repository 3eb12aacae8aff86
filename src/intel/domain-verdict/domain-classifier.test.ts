import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsAgeSchema } from '../../config/index.js';
import { ManualClock } from '../../lib/clock.js';
import { createDomainAgeService, createNrdIndex, loadRdapBootstrapFile, registrableDomainOf, type NrdIndex } from '../domain-age/index.js';
import { startRdapFixture, type RdapFixture } from '../domain-age/test-support/rdap-fixture-server.js';
import { dnsProtectSchema } from '../../config/index.js';
import { createLookalikeDetector } from '../lookalike/index.js';
import { createDomainClassifier } from './domain-classifier.js';
import type { LookalikeChecker } from './domain-verdict.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const shipped = loadRdapBootstrapFile();

/**
 * Stand-in for src/intel/lookalike with the same `check` shape: anything containing "acme" outside
 * the real acme.com is a lookalike. The classifier's rules are what these tests are about.
 */
const acmeLookalikes: LookalikeChecker = {
  check(name) {
    const registrable = registrableDomainOf(name);
    const lookalike = registrable !== undefined && registrable !== 'acme.com' && registrable.includes('acme');
    return lookalike
      ? { name, lookalike, score: 0.93, brand: 'acme', reasons: [{ code: 'brand_keyword_compound', detail: '"acme" next to "okta"' }] }
      : { name, lookalike, score: 0, reasons: [] };
  },
};

let fixture: RdapFixture;
beforeAll(async () => {
  fixture = await startRdapFixture();
});
afterAll(async () => {
  await fixture.close();
});

function setup(config: Record<string, unknown> = {}, options: { lookalike?: LookalikeChecker; nrd?: NrdIndex } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 7, 20, 9, 0, 0));
  const parsed = dnsAgeSchema.parse({ rdap_overrides: { com: fixture.baseUrl, net: fixture.baseUrl }, time_budget_ms: 5000, ...config });
  const age = createDomainAgeService({
    config: parsed,
    clock,
    bootstrap: { current: () => shipped },
    rdapConnection: fixture.connection,
    ...(options.nrd ? { nrd: options.nrd } : {}),
  });
  const classifier = createDomainClassifier({ lookalike: options.lookalike ?? acmeLookalikes, age, config: parsed, clock });
  return { clock, age, classifier };
}

describe('domain verdict: lookalike x age', () => {
  it('blocks a young lookalike and says why in plain words', async () => {
    const { clock, classifier } = setup();
    const registeredAt = clock.now() - 37 * MINUTE;
    fixture.set('acme-okta.com', { kind: 'registered', registeredAt });
    const verdict = await classifier.classify('Login.ACME-OKTA.com.');
    expect(verdict).toMatchObject({
      name: 'login.acme-okta.com',
      registrableDomain: 'acme-okta.com',
      action: 'block',
      registeredAt: new Date(registeredAt).toISOString(),
      age: { state: 'young', basis: 'rdap' },
      lookalike: { score: 0.93, brand: 'acme', reasons: [{ code: 'brand_keyword_compound' }] },
      humanReason: 'looks like acme; registered 37 minutes ago',
    });
    expect(verdict.ageDays).toBeCloseTo(37 / (24 * 60), 4);
    expect(verdict.reasons.map((reason) => reason.code)).toEqual(['lookalike', 'brand_keyword_compound', 'young_domain', 'young_lookalike']);
  });

  it('blocks a young lookalike even when both single-signal actions are relaxed', async () => {
    const { clock, classifier } = setup({ lookalike_action: 'allow', young_action: 'allow' });
    fixture.set('acme-sso.com', { kind: 'registered', registeredAt: clock.now() - 2 * DAY });
    expect(await classifier.classify('acme-sso.com')).toMatchObject({ action: 'block', humanReason: 'looks like acme; registered 2 days ago' });
  });

  it('applies lookalike_action to an old lookalike (default block)', async () => {
    fixture.set('acme-hr.com', { kind: 'registered', registeredAt: Date.UTC(2014, 0, 1) });
    expect(await setup().classifier.classify('acme-hr.com')).toMatchObject({
      action: 'block',
      age: { state: 'established' },
      humanReason: 'looks like acme; registered 12 years ago',
    });
    expect(await setup({ lookalike_action: 'warn' }).classifier.classify('acme-hr.com')).toMatchObject({ action: 'warn' });
  });

  it('applies young_action to a young domain that is not a lookalike (default warn)', async () => {
    const { clock, classifier } = setup();
    fixture.set('fresh-bakery.com', { kind: 'registered', registeredAt: clock.now() - 3 * 60 * MINUTE });
    const verdict = await classifier.classify('www.fresh-bakery.com');
    expect(verdict).toMatchObject({ action: 'warn', humanReason: 'registered 3 hours ago', reasons: [{ code: 'young_domain' }] });
    expect(verdict.lookalike).toBeUndefined();
    expect(await setup({ young_action: 'block' }).classifier.classify('fresh-bakery.com')).toMatchObject({ action: 'block' });
  });

  it('allows an old domain that is not a lookalike', async () => {
    fixture.set('old-news.com', { kind: 'registered', registeredAt: Date.UTC(1998, 3, 1) });
    expect(await setup().classifier.classify('old-news.com')).toMatchObject({
      action: 'allow',
      age: { state: 'established' },
      humanReason: 'registered 28 years ago',
    });
  });

  it('applies on_unknown when the registry does not know the domain', async () => {
    expect(await setup().classifier.classify('never-registered.com')).toMatchObject({
      action: 'allow',
      age: { state: 'unknown' },
      reasons: [{ code: 'rdap_not_found' }],
      humanReason: 'registration date unknown',
    });
    expect(await setup({ on_unknown: 'block' }).classifier.classify('never-registered.com')).toMatchObject({ action: 'block' });
  });

  it('applies on_timeout when RDAP is slower than the budget, then uses the cached date', async () => {
    const { clock, age, classifier } = setup({ time_budget_ms: 50, on_timeout: 'warn' });
    fixture.set('slow-shop.com', { kind: 'slow', delayMs: 1000, registeredAt: clock.now() - 10 * MINUTE });
    expect(await classifier.classify('slow-shop.com')).toMatchObject({
      action: 'warn',
      age: { state: 'pending' },
      reasons: [{ code: 'age_check_timeout' }],
      humanReason: 'registration date could not be checked in time',
    });
    expect(classifier.classifySync('slow-shop.com')).toBeUndefined();
    await age.idle();
    expect(classifier.classifySync('slow-shop.com')).toMatchObject({ action: 'warn', humanReason: 'registered 10 minutes ago' });
    expect(fixture.hits('slow-shop.com')).toBe(1);
  });

  it('treats an NRD-listed lookalike as young when RDAP has no date', async () => {
    const nrd = createNrdIndex();
    nrd.replaceFeed('nrd.txt', ['acme-vpn.net'], 0);
    fixture.set('acme-vpn.net', { kind: 'no_events' });
    const verdict = await setup({ lookalike_action: 'warn' }, { nrd }).classifier.classify('acme-vpn.net');
    expect(verdict).toMatchObject({ action: 'block', age: { state: 'young', basis: 'nrd_feed' } });
    expect(verdict.humanReason).toBe('looks like acme; listed as a newly registered domain');
  });
});

describe('classifySync for the DNS hot path', () => {
  it('returns undefined when the age is not cached, and the full verdict once it is', async () => {
    const { clock, classifier } = setup();
    fixture.set('sync-young.com', { kind: 'registered', registeredAt: clock.now() - 5 * MINUTE });
    expect(classifier.classifySync('sync-young.com')).toBeUndefined();
    await classifier.classify('sync-young.com');
    expect(classifier.classifySync('cdn.sync-young.com')).toMatchObject({ action: 'warn', humanReason: 'registered 5 minutes ago' });
  });

  it('blocks a lookalike at once and fetches the age for the block page in the background', async () => {
    const { clock, age, classifier } = setup();
    fixture.set('acme-mfa.com', { kind: 'registered', registeredAt: clock.now() - 20 * MINUTE });
    expect(classifier.classifySync('acme-mfa.com')).toMatchObject({ action: 'block', age: { state: 'not_checked' }, humanReason: 'looks like acme' });
    await age.idle();
    expect(classifier.classifySync('acme-mfa.com')).toMatchObject({ action: 'block', humanReason: 'looks like acme; registered 20 minutes ago' });
  });

  it('answers at once where there is nothing to look up', () => {
    const { classifier } = setup();
    expect(classifier.classifySync('192.0.2.7')).toMatchObject({ action: 'allow', registrableDomain: undefined, age: { state: 'not_applicable' } });
    expect(classifier.classifySync('printer.corp')).toMatchObject({ action: 'allow', age: { state: 'unknown' }, reasons: [{ code: 'rdap_no_server' }] });
  });

  it('uses only the lexical check when age checks are disabled (no RDAP request)', async () => {
    const { clock, classifier } = setup({ enabled: false });
    fixture.set('disabled-acme.com', { kind: 'registered', registeredAt: clock.now() - MINUTE });
    expect(await classifier.classify('disabled-acme.com')).toMatchObject({ action: 'block', age: { state: 'not_checked' }, humanReason: 'looks like acme' });
    expect(classifier.classifySync('benign-disabled.com')).toMatchObject({ action: 'allow', humanReason: 'no warning signs found' });
    expect(fixture.hits('disabled-acme.com')).toBe(0);
  });

  it('still applies the age rules if the lookalike checker throws', async () => {
    const throwing: LookalikeChecker = {
      check() {
        throw new Error('bug');
      },
    };
    const { clock, classifier } = setup({}, { lookalike: throwing });
    fixture.set('throwing-young.com', { kind: 'registered', registeredAt: clock.now() - MINUTE });
    expect(await classifier.classify('throwing-young.com')).toMatchObject({ action: 'warn' });
  });
});

describe('with the real lookalike detector (src/intel/lookalike)', () => {
  const detector = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['acme'], domains: ['acme.com'] }));

  function realSetup(config: Record<string, unknown> = {}) {
    const base = fixture.baseUrl;
    return setup({ ...config, rdap_overrides: { com: base, net: base, de: base, uk: base } }, { lookalike: detector });
  }

  it('blocks the 2022 pattern: an IdP lookalike registered 40 minutes ago', async () => {
    const { clock, classifier } = realSetup();
    fixture.set('acme-okta.net', { kind: 'registered', registeredAt: clock.now() - 40 * MINUTE });
    expect(await classifier.classify('acme-okta.net')).toMatchObject({
      action: 'block',
      humanReason: 'looks like acme; registered 40 minutes ago',
    });
  });

  it('blocks a young ccTLD swap below the lookalike threshold, allows an old one', async () => {
    const { clock, classifier } = realSetup();
    fixture.set('acme.de', { kind: 'registered', registeredAt: clock.now() - 6 * DAY });
    fixture.set('acme.co.uk', { kind: 'registered', registeredAt: Date.UTC(2003, 0, 1) });
    const young = await classifier.classify('acme.de');
    expect(young).toMatchObject({ action: 'block', humanReason: 'looks like acme; registered 6 days ago', lookalike: { score: 0.6 } });
    expect(young.reasons.map((reason) => reason.code)).toContain('young_lookalike');
    const old = await classifier.classify('www.acme.co.uk');
    expect(old).toMatchObject({ action: 'allow', humanReason: 'registered 23 years ago' });
    expect(old.lookalike).toBeUndefined();
    // Raising the bar above 0.6 turns the young swap back into an ordinary young domain (warn).
    expect(await realSetup({ young_lookalike_min_score: 0.7 }).classifier.classify('acme.de')).toMatchObject({ action: 'warn' });
  });

  it('never flags the protected domain itself, however young the registry says it is', async () => {
    const { clock, classifier } = realSetup({ young_action: 'allow' });
    fixture.set('acme.com', { kind: 'registered', registeredAt: clock.now() - DAY });
    expect(await classifier.classify('sso.acme.com')).toMatchObject({ action: 'allow' });
  });
});
