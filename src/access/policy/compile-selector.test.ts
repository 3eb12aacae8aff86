import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { accessSchema, appsSchema } from '../../config/index.js';
import { type AccessIdentity, type AccessRequest, type Decision, compilePolicyEngine } from './index.js';

/** Config in (through the real schema), decision out: one app whose only policy is under test. */
function decideWith(policy: unknown, request: Partial<AccessRequest>): Decision {
  const config = z.strictObject({ apps: appsSchema, access: accessSchema }).parse({
    apps: [{ name: 'wiki', host: 'wiki.acme.test', upstream: 'http://127.0.0.1:9', policies: [policy] }],
  });
  return compilePolicyEngine(config).decide('wiki', { ...baseRequest, ...request });
}

// Wednesday 2026-01-07 10:00 UTC (11:00 in Paris).
const NOW = Date.UTC(2026, 0, 7, 10, 0);
const alice: AccessIdentity = {
  userId: 'u-alice',
  email: 'Alice@Acme.Test',
  groups: ['eng', 'oncall'],
  amr: ['hwk'],
  phishingResistantAt: NOW - 5 * 60_000,
};
const baseRequest: AccessRequest = { ip: '10.1.2.3', method: 'GET', path: '/', now: NOW, identity: alice };

type Row = [label: string, selector: Record<string, unknown>, request: Partial<AccessRequest>, matches: boolean];

const rows: Row[] = [
  ['everyone', { everyone: true }, {}, true],
  ['email listed (case-insensitive both ways)', { email: ['ALICE@acme.test'] }, {}, true],
  ['email not listed', { email: ['bob@acme.test'] }, {}, false],
  ['email_domain exact', { email_domain: ['acme.test'] }, {}, true],
  ['email_domain written with @', { email_domain: ['@ACME.test'] }, {}, true],
  ['email_domain other', { email_domain: ['evil.test'] }, {}, false],
  ['email_domain does not cover subdomains', { email_domain: ['acme.test'] }, { identity: { ...alice, email: 'a@sub.acme.test' } }, false],
  ['email_domain uses the last @', { email_domain: ['acme.test'] }, { identity: { ...alice, email: 'acme.test@evil.test' } }, false],
  ['email_domain with no @ in the email', { email_domain: ['acme.test'] }, { identity: { ...alice, email: 'acme.test' } }, false],
  ['group member', { group: ['ops', 'oncall'] }, {}, true],
  ['group not member', { group: ['ops'] }, {}, false],
  ['group names are exact', { group: ['ENG'] }, {}, false],
  ['ip v4 in', { ip: ['10.0.0.0/8'] }, {}, true],
  ['ip v4 out', { ip: ['192.168.0.0/16'] }, {}, false],
  ['ip v4 host', { ip: ['10.1.2.3'] }, {}, true],
  ['ip v4 any', { ip: ['0.0.0.0/0'] }, {}, true],
  ['ip mapped request vs v4 CIDR', { ip: ['10.0.0.0/8'] }, { ip: '::ffff:10.9.9.9' }, true],
  ['ip v4 request vs mapped CIDR', { ip: ['::ffff:10.0.0.0/104'] }, { ip: '10.9.9.9' }, true],
  ['ip v6 in', { ip: ['2001:db8::/32'] }, { ip: '2001:DB8:1::5' }, true],
  ['ip v6 out', { ip: ['2001:db8::/32'] }, { ip: '2001:db9::5' }, false],
  ['ip v6 link-local with zone', { ip: ['fe80::/10'] }, { ip: 'fe80::1%eth0' }, true],
  ['ip ::/0 does not cover IPv4 clients', { ip: ['::/0'] }, { ip: '10.1.2.3' }, false],
  ['auth_method phishing_resistant with hwk', { auth_method: 'phishing_resistant' }, {}, true],
  ['auth_method phishing_resistant with swk', { auth_method: 'phishing_resistant' }, { identity: { ...alice, amr: ['swk'] } }, true],
  ['auth_method phishing_resistant with pwd+otp', { auth_method: 'phishing_resistant' }, { identity: { ...alice, amr: ['pwd', 'otp'] } }, false],
  ['auth_method phishing_resistant with mfa only', { auth_method: 'phishing_resistant' }, { identity: { ...alice, amr: ['mfa'] } }, false],
  ['auth_method hwk with swk', { auth_method: ['hwk'] }, { identity: { ...alice, amr: ['swk'] } }, false],
  ['auth_method otp', { auth_method: 'otp' }, { identity: { ...alice, amr: ['pwd', 'otp'] } }, true],
  ['auth_method pwd', { auth_method: ['pwd'] }, { identity: { ...alice, amr: ['hwk'] } }, false],
  ['auth_method list is any-of', { auth_method: ['otp', 'swk'] }, { identity: { ...alice, amr: ['swk'] } }, true],
  ['auth_method ignores unknown amr values', { auth_method: ['pwd'] }, { identity: { ...alice, amr: ['__proto__', 'constructor'] } }, false],
  ['auth_age fresh', { auth_age: 30 }, {}, true],
  ['auth_age exactly at the limit', { auth_age: 30 }, { identity: { ...alice, phishingResistantAt: NOW - 30 * 60_000 } }, true],
  ['time inside (Paris 11:00 Wed)', { time: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: ['09:00-17:00'], time_zone: 'Europe/Paris' } }, {}, true],
  ['time after hours (Paris 17:30)', { time: { days: ['wed'], hours: ['09:00-17:00'], time_zone: 'Europe/Paris' } }, { now: Date.UTC(2026, 0, 7, 16, 30) }, false],
  ['time end is exclusive (Paris 17:00)', { time: { days: ['wed'], hours: ['09:00-17:00'], time_zone: 'Europe/Paris' } }, { now: Date.UTC(2026, 0, 7, 16, 0) }, false],
  ['time wrong day', { time: { days: ['sat', 'sun'], time_zone: 'Europe/Paris' } }, {}, false],
  ['time second range', { time: { hours: ['00:00-01:00', '10:00-10:01'] } }, {}, true],
  ['time defaults to UTC all week', { time: {} }, {}, true],
  ['time New York summer (EDT) 09:30', { time: { hours: ['09:00-10:00'], time_zone: 'America/New_York' } }, { now: Date.UTC(2026, 6, 1, 13, 30) }, true],
  ['time New York winter (EST) 08:30', { time: { hours: ['09:00-10:00'], time_zone: 'America/New_York' } }, { now: Date.UTC(2026, 0, 7, 13, 30) }, false],
  ['time half-hour zone (Kolkata 09:15)', { time: { hours: ['09:00-09:30'], time_zone: 'Asia/Kolkata' } }, { now: Date.UTC(2026, 0, 7, 3, 45) }, true],
  ['time local day differs from UTC day (Auckland Thu)', { time: { days: ['thu'], time_zone: 'Pacific/Auckland' } }, { now: Date.UTC(2026, 0, 7, 12, 0) }, true],
  ['time until 24:00', { time: { hours: ['23:00-24:00'] } }, { now: Date.UTC(2026, 0, 7, 23, 59, 59) }, true],
  ['method listed (request lower-case)', { method: ['GET', 'HEAD'] }, { method: 'get' }, true],
  ['method not listed', { method: ['GET'] }, { method: 'DELETE' }, false],
  ['method config lower-case', { method: ['post'] }, { method: 'POST' }, true],
  ['path prefix', { path: ['/admin'] }, { path: '/admin/users' }, true],
  ['path prefix respects segments', { path: ['/admin'] }, { path: '/administrator' }, false],
  ['path query ignored', { path: ['/admin'] }, { path: '/admin?next=/x' }, true],
  ['path percent-encoded unreserved', { path: ['/admin'] }, { path: '/%61dmin' }, true],
  ['path dot segments', { path: ['/admin'] }, { path: '/public/../admin/x' }, true],
  ['path double slash', { path: ['/admin'] }, { path: '//admin' }, true],
  ['path ignores case by default', { path: ['/admin'] }, { path: '/ADMIN/users' }, true],
  ['path pattern case folds too', { path: ['/Admin'] }, { path: '/admin' }, true],
  ['path glob one segment', { path: ['/api/*/users'] }, { path: '/api/v2/users' }, true],
  ['path glob not across segments', { path: ['/api/*/users'] }, { path: '/api/v2/x/users' }, false],
  ['path globstar', { path: ['/**/*.php'] }, { path: '/a/b.php' }, true],
];

describe('each selector, alone in an allow include (config in, decision out)', () => {
  it.each(rows)('%s', (_label, selector, request, matches) => {
    const decision = decideWith({ name: 'p', action: 'allow', include: [selector] }, request);
    expect(decision.outcome).toBe(matches ? 'allow' : 'deny');
    expect(decision.allow).toBe(matches);
    if (matches) expect(decision.reasons).toEqual(['policy_matched: policies[0] "p" action allow']);
    else expect(decision.reasons[0]).toMatch(/^no_policy_matched: /);
  });
});

describe('miss reasons name the list, index, selector and what was compared', () => {
  it.each([
    [{ auth_method: 'phishing_resistant' }, { identity: { ...alice, amr: ['otp', 'pwd'] } }, 'require[0] auth_method: session amr [otp,pwd] lacks phishing_resistant'],
    [{ group: ['ops'] }, {}, 'require[0] group: user groups [eng, oncall] not in [ops]'],
    [{ email: ['bob@acme.test'] }, {}, 'require[0] email: email alice@acme.test not in [bob@acme.test]'],
    [{ email_domain: ['evil.test'] }, {}, 'require[0] email_domain: email domain acme.test not in [evil.test]'],
    [{ ip: ['192.168.0.0/16'] }, { ip: '::ffff:10.1.2.3' }, 'require[0] ip: client 10.1.2.3 not in [192.168.0.0/16]'],
    [{ method: ['GET'] }, { method: 'delete' }, 'require[0] method: method DELETE not in [GET]'],
    [{ path: ['/admin'] }, { path: '/x/../public' }, 'require[0] path: path /public not covered by [/admin]'],
    [{ time: { days: ['sat'], hours: ['09:00-17:00'], time_zone: 'Europe/Paris' } }, {}, 'require[0] time: local time wed 11:00 outside sat 09:00-17:00 Europe/Paris'],
  ])('%j', (selector, request, expected) => {
    const decision = decideWith({ name: 'p', action: 'allow', include: [{ everyone: true }], require: [selector] }, request);
    expect(decision.outcome).toBe('deny');
    expect(decision.reasons).toContain(`not_matched: policies[0] "p" ${expected}`);
  });

  it('an unnamed policy is identified by its index', () => {
    const decision = decideWith({ action: 'allow', include: [{ group: ['ops'] }] }, {});
    expect(decision.reasons[1]).toBe('not_matched: policies[0] include[0] group: user groups [eng, oncall] not in [ops]');
  });
});

describe('include (any) / require (all) / exclude (none)', () => {
  const policy = {
    name: 'p',
    action: 'allow',
    include: [{ group: ['ops'] }, { email: ['alice@acme.test'] }],
    require: [{ method: ['GET', 'POST'] }, { ip: ['10.0.0.0/8'] }],
    exclude: [{ path: ['/private'] }, { group: ['suspended'] }],
  };
  it.each([
    ['include matches through its second entry', {}, 'allow'],
    ['include matches none', { identity: { ...alice, email: 'bob@acme.test' } }, 'deny'],
    ['require: one of two fails', { method: 'DELETE' }, 'deny'],
    ['require: the other fails', { ip: '192.0.2.1' }, 'deny'],
    ['exclude: first entry hits', { path: '/private/x' }, 'deny'],
    ['exclude: second entry hits', { identity: { ...alice, groups: ['suspended'] } }, 'deny'],
    ['exclude: neither hits', { path: '/public' }, 'allow'],
  ])('%s', (_label, request, outcome) => {
    expect(decideWith(policy, request).outcome).toBe(outcome);
  });

  it('an exclude hit is reported as excluded', () => {
    const decision = decideWith(policy, { identity: { ...alice, groups: ['suspended'] } });
    expect(decision.reasons).toContain('excluded: policies[0] "p" exclude[1] group: user groups [suspended] meet [suspended]');
  });
});
