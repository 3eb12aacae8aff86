import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { accessSchema, appsSchema } from '../../config/index.js';
import { type AccessRequest, compilePolicyEngine, explainDecision } from './index.js';
import { NEEDS_HARDWARE_KEY, NEEDS_KEY_OR_PASSKEY } from './explain-decision.js';

const NOW = Date.UTC(2026, 0, 7, 10, 0);
const identity = { userId: 'u', email: 'alice@acme.test', groups: ['eng'], amr: ['pwd', 'otp'] };

function explain(policies: unknown[], request: Partial<AccessRequest>, access: unknown = {}): string {
  const config = z.strictObject({ apps: appsSchema, access: accessSchema }).parse({
    apps: [{ name: 'wiki', host: 'wiki.acme.test', upstream: 'http://127.0.0.1:9', policies }],
    access,
  });
  const engine = compilePolicyEngine({ ...config, isIpBlocked: (ip) => ip === '198.51.100.66' });
  return explainDecision(engine.decide('wiki', { ip: '10.0.0.1', method: 'GET', path: '/', now: NOW, identity, ...request }));
}

const allow = (extra: Record<string, unknown>) => ({ action: 'allow', include: [{ group: ['eng'] }], ...extra });

describe('explainDecision', () => {
  it.each([
    ['security key or passkey', [allow({ require: [{ auth_method: 'phishing_resistant' }] })], {}, NEEDS_KEY_OR_PASSKEY],
    ['hardware key, passkey holder', [allow({ require: [{ auth_method: 'hwk' }] })], { identity: { ...identity, amr: ['swk', 'mfa'] } }, NEEDS_HARDWARE_KEY],
    ['either kind of key', [allow({ require: [{ auth_method: ['hwk', 'swk'] }] })], {}, NEEDS_KEY_OR_PASSKEY],
    ['other method', [allow({ require: [{ auth_method: 'otp' }] })], { identity: { ...identity, amr: ['hwk'] } }, 'This app needs a different sign-in method.'],
    ['group', [{ action: 'allow', include: [{ group: ['admins'] }] }], {}, 'You are not in a group that may use this app.'],
    ['email', [{ action: 'allow', include: [{ email: ['bob@acme.test'] }] }], {}, 'Your account may not use this app.'],
    ['network', [allow({ require: [{ ip: ['192.168.0.0/16'] }] })], {}, 'This app cannot be reached from your network.'],
    ['time', [allow({ require: [{ time: { days: ['sun'] } }] })], {}, 'This app is not available at this time.'],
    ['excluded', [allow({ exclude: [{ email: ['alice@acme.test'] }] })], {}, 'Your account is excluded from this app.'],
    ['block policy', [{ action: 'block', include: [{ everyone: true }] }], {}, 'Access to this app is blocked by policy.'],
    ['step up', [allow({ require: [{ auth_age: 10 }] })], {}, 'Touch your key again: this app needs a recent confirmation with your security key or passkey.'],
    ['sign in', [allow({})], { identity: undefined }, 'Sign in to continue.'],
    ['bypass', [{ action: 'bypass', include: [{ everyone: true }] }], {}, 'This page is open without sign-in.'],
    ['allowed', [allow({})], {}, 'Access allowed.'],
    ['runtime IP block', [allow({})], { ip: '198.51.100.66' }, 'Your network address is blocked.'],
    ['bad path', [allow({})], { path: '/%2e%2e%2f' }, 'This address is not valid.'],
  ])('%s', (_label, policies, request, text) => {
    expect(explain(policies, request)).toBe(text);
  });

  it('speaks about the policy meant for the user before policies that do not concern them', () => {
    // The admins policy does not include alice; the eng policy does but needs a hardware key: say so.
    const policies = [{ action: 'allow', include: [{ group: ['admins'] }] }, allow({ require: [{ auth_method: 'hwk' }] })];
    expect(explain(policies, {})).toBe(NEEDS_HARDWARE_KEY);
  });

  it('config IP blocks read the same as runtime ones', () => {
    expect(explain([allow({})], { ip: '203.0.113.5' }, { blocked_ips: ['203.0.113.0/24'] })).toBe('Your network address is blocked.');
  });

  it('never leaks audit detail (emails, addresses, policy names) into the text', () => {
    const text = explain([{ name: 'secret-policy', action: 'allow', include: [{ email: ['bob@acme.test'] }] }], {});
    expect(text).not.toMatch(/alice|bob|secret-policy|10\.0\.0\.1/);
  });
});
