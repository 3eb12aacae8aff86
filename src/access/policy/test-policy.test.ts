import { describe, expect, it } from 'vitest';
import { appSchema } from '../../config/sections/apps.js';
import { testPolicy } from './test-policy.js';

const app = appSchema.parse({
  name: 'wiki',
  host: 'wiki.acme.test',
  upstream: 'http://127.0.0.1:9',
  policies: [
    { action: 'block', include: [{ ip: ['192.0.2.0/24'] }] },
    { action: 'allow', include: [{ group: ['eng'] }], require: [{ auth_method: 'hwk' }, { auth_age: 30 }] },
    { name: 'everyone-read', action: 'allow', include: [{ everyone: true }], require: [{ method: ['GET'] }] },
  ],
});
const options = { apps: [app], access: { blocked_ips: ['198.51.100.0/24'] } };
const user = { id: 'u1', email: 'a@acme.test', groups: ['eng'] };
const request = { app: 'wiki', user, ip: '10.0.0.1', method: 'GET', path: '/', now: Date.UTC(2026, 0, 5, 12) };

describe('testPolicy', () => {
  it('names the deciding policy and, for each other one, why it did not decide (unnamed ones by their index)', () => {
    const result = testPolicy(options, { ...request, amr: ['swk', 'mfa'] })!;
    expect(result.decision).toMatchObject({ outcome: 'allow', policy: 'everyone-read' });
    expect(result.trace.map((t) => [t.policy, t.verdict])).toEqual([
      ['policies[0]', 'does_not_apply'],
      ['policies[1]', 'does_not_apply'],
      ['everyone-read', 'decided'],
    ]);
    expect(result.trace[1]!.reasons).toEqual(['not_matched: policies[1] require[0] auth_method: session amr [swk,mfa] lacks hwk']);
  });

  it('marks policies after the deciding one as not reached, and a stale proof as a step-up', () => {
    const fresh = testPolicy(options, request)!;
    expect(fresh.trace.map((t) => t.verdict)).toEqual(['does_not_apply', 'decided', 'not_reached']);
    const stale = testPolicy(options, { ...request, method: 'POST', authAgeMinutes: 45 })!;
    expect(stale.decision.outcome).toBe('step_up');
    expect(stale.trace.map((t) => t.verdict)).toEqual(['does_not_apply', 'decided', 'does_not_apply']);
  });

  it('stops at a global rule, and knows no app it was not given', () => {
    const blocked = testPolicy(options, { ...request, ip: '198.51.100.7' })!;
    expect(blocked.decision.reasons[0]).toMatch(/^ip_blocked: /);
    expect(blocked.trace).toEqual([]);
    expect(testPolicy(options, { ...request, app: 'nope' })).toBeUndefined();
  });
});
