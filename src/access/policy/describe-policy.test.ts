import { describe, expect, it } from 'vitest';
import { policySchema } from '../../config/sections/apps.js';
import { describePolicy } from './describe-policy.js';

const words = (policy: unknown) => describePolicy(policySchema.parse(policy));

describe('describePolicy', () => {
  it('reads include as any, require as all, exclude as none', () => {
    expect(words({ action: 'allow', include: [{ group: ['eng', 'sre'] }, { email: ['ceo@acme.test'] }], require: [{ auth_method: 'phishing_resistant' }], exclude: [{ email_domain: ['contractor.test'] }] })).toBe(
      'Allow members of eng or sre or ceo@acme.test, signed in with a security key or passkey, except anyone at @contractor.test',
    );
  });

  it('writes days as ranges, hours and zones as configured, ages in the largest whole unit', () => {
    expect(words({ action: 'allow', include: [{ everyone: true }], require: [{ time: { days: ['mon', 'wed', 'thu', 'fri', 'sun'], hours: ['08:00-12:00', '13:00-17:30'], time_zone: 'Europe/Paris' } }, { auth_age: 90 }, { auth_age: 2880 }] })).toBe(
      'Allow everyone, Mon, Wed–Fri, Sun 08:00–12:00, 13:00–17:30 Europe/Paris, with a key proof in the last 90 minutes, with a key proof in the last 2 days',
    );
    expect(words({ action: 'block', include: [{ time: { days: ['sat', 'sun'] } }] })).toBe('Block anyone during Sat, Sun all day UTC');
  });

  it('names machines, methods and paths', () => {
    expect(words({ action: 'allow', include: [{ service_token_tag: ['deploy'] }], require: [{ method: ['post'] }, { path: ['/api/**'] }] })).toBe('Allow service tokens tagged deploy, for POST requests, on /api/**');
    expect(words({ action: 'bypass', include: [{ ip: ['10.0.0.0/8', '::1/128'] }] })).toBe('Open without sign-in (bypass) for anyone from 10.0.0.0/8 or ::1/128');
  });
});
