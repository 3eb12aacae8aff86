import { describe, expect, it } from 'vitest';
import { dnsAgeSchema } from '../../config/index.js';
import { assessDomainAge } from './age-policy.js';
import { describeElapsed } from './describe-elapsed.js';
import type { DomainAgeFacts } from './domain-age-service.js';

const NOW = Date.UTC(2026, 7, 20, 12, 0, 0);
const MINUTE = 60_000;
const DAY = 86_400_000;
const policy = dnsAgeSchema.parse({});

function facts(rdap: DomainAgeFacts['rdap'], extra: Partial<DomainAgeFacts> = {}): DomainAgeFacts {
  return { registrableDomain: 'x.test', rdap, fromCache: false, ...extra };
}

describe('age policy', () => {
  it('calls a domain younger than young_days young and applies young_action', () => {
    const result = assessDomainAge(facts({ status: 'registered', registeredAt: NOW - 40 * MINUTE }), policy, NOW);
    expect(result).toMatchObject({ state: 'young', basis: 'rdap', action: 'warn', ageMs: 40 * MINUTE });
    expect(result.reasons[0]).toEqual({ code: 'young_domain', detail: 'registered 2026-08-20T11:20:00.000Z, 40 minutes ago' });
    const blocking = assessDomainAge(facts({ status: 'registered', registeredAt: NOW - 29 * DAY }), { ...policy, young_action: 'block' }, NOW);
    expect(blocking).toMatchObject({ state: 'young', action: 'block' });
  });

  it('allows a domain older than young_days', () => {
    expect(assessDomainAge(facts({ status: 'registered', registeredAt: NOW - 30 * DAY }), policy, NOW)).toMatchObject({
      state: 'established',
      action: 'allow',
    });
    expect(assessDomainAge(facts({ status: 'registered', registeredAt: NOW - 10 * DAY }), { ...policy, young_days: 7 }, NOW)).toMatchObject({
      state: 'established',
    });
  });

  it('treats a registration date in the future as age zero (young), not as old', () => {
    expect(assessDomainAge(facts({ status: 'registered', registeredAt: NOW + DAY }), policy, NOW)).toMatchObject({ state: 'young', ageMs: 0 });
  });

  it('applies on_unknown and on_timeout, with the reason code', () => {
    const strict = { ...policy, on_unknown: 'block' as const, on_timeout: 'warn' as const };
    expect(assessDomainAge(facts({ status: 'not_found' }), strict, NOW)).toMatchObject({
      state: 'unknown',
      action: 'block',
      reasons: [{ code: 'rdap_not_found' }],
    });
    expect(assessDomainAge(facts({ status: 'error', code: 'rdap_timeout', detail: 'slow' }), strict, NOW)).toMatchObject({
      state: 'unknown',
      reasons: [{ code: 'rdap_timeout' }],
    });
    expect(assessDomainAge(facts({ status: 'pending' }), strict, NOW)).toMatchObject({ state: 'pending', action: 'warn' });
    expect(assessDomainAge(facts({ status: 'no_server' }), policy, NOW)).toMatchObject({ state: 'unknown', action: 'allow' });
  });

  it('falls back to an NRD listing, then to first-seen once the table has warmed up', () => {
    const nrd = facts({ status: 'no_server' }, { nrd: { source: 'feed', importedAt: NOW } });
    expect(assessDomainAge(nrd, policy, NOW)).toMatchObject({ state: 'young', basis: 'nrd_feed', action: 'warn' });

    const cold = facts({ status: 'no_server' }, { firstSeen: { at: NOW - MINUTE, trackingSince: NOW - DAY } });
    expect(assessDomainAge(cold, policy, NOW)).toMatchObject({ state: 'unknown' });
    const warm = facts({ status: 'no_server' }, { firstSeen: { at: NOW - MINUTE, trackingSince: NOW - 31 * DAY } });
    expect(assessDomainAge(warm, policy, NOW)).toMatchObject({ state: 'young', basis: 'first_seen', firstSeenAgoMs: MINUTE });
    const longKnown = facts({ status: 'no_server' }, { firstSeen: { at: NOW - 40 * DAY, trackingSince: NOW - 90 * DAY } });
    expect(assessDomainAge(longKnown, policy, NOW)).toMatchObject({ state: 'unknown' });
    const disabled = { ...policy, first_seen: { ...policy.first_seen, use_as_age: false } };
    expect(assessDomainAge(warm, disabled, NOW)).toMatchObject({ state: 'unknown' });
  });

  it('prefers an RDAP date over an NRD listing', () => {
    const relisted = facts({ status: 'registered', registeredAt: NOW - 5 * 365 * DAY }, { nrd: { source: 'feed', importedAt: NOW } });
    expect(assessDomainAge(relisted, policy, NOW)).toMatchObject({ state: 'established', basis: 'rdap' });
  });
});

describe('describeElapsed', () => {
  it('says durations in plain words, rounded down', () => {
    expect(describeElapsed(30_000)).toBe('less than a minute');
    expect(describeElapsed(MINUTE)).toBe('1 minute');
    expect(describeElapsed(37 * MINUTE + 59_000)).toBe('37 minutes');
    expect(describeElapsed(5 * 60 * MINUTE)).toBe('5 hours');
    expect(describeElapsed(3 * DAY)).toBe('3 days');
    expect(describeElapsed(100 * DAY)).toBe('3 months');
    expect(describeElapsed(12 * 365.25 * DAY)).toBe('12 years');
    expect(describeElapsed(-5)).toBe('less than a minute');
  });
});
