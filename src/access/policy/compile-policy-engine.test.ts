import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { accessSchema, appsSchema } from '../../config/index.js';
import { type AccessIdentity, type AccessRequest, type PolicyEngine, compilePolicyEngine, reasonCode } from './index.js';

const NOW = Date.UTC(2026, 0, 7, 10, 0);
const alice: AccessIdentity = { userId: 'u-alice', email: 'alice@acme.test', groups: ['eng'], amr: ['hwk'], phishingResistantAt: NOW - 60_000 };
const req = (over: Partial<AccessRequest> = {}): AccessRequest => ({ ip: '10.1.2.3', method: 'GET', path: '/', now: NOW, identity: alice, ...over });
const anonymous = (over: Partial<AccessRequest> = {}): AccessRequest => ({ ip: '10.1.2.3', method: 'GET', path: '/', now: NOW, ...over });

function engineWith(policies: unknown[], access: unknown = {}, isIpBlocked?: (ip: string) => boolean): PolicyEngine {
  const config = z.strictObject({ apps: appsSchema, access: accessSchema }).parse({
    apps: [
      { name: 'wiki', host: 'wiki.acme.test', upstream: 'http://127.0.0.1:9', policies },
      { name: 'grafana', host: 'grafana.acme.test', upstream: 'https://10.0.0.5', policies: [{ action: 'allow', include: [{ everyone: true }] }] },
    ],
    access,
  });
  return compilePolicyEngine(isIpBlocked ? { ...config, isIpBlocked } : config);
}

describe('first match decides', () => {
  const allowEng = { name: 'eng', action: 'allow', include: [{ group: ['eng'] }] };
  const blockEng = { name: 'no-eng', action: 'block', include: [{ group: ['eng'] }] };

  it('a block before an allow wins', () => {
    const d = engineWith([blockEng, allowEng]).decide('wiki', req());
    expect(d).toMatchObject({ allow: false, outcome: 'deny', action: 'block', policy: 'no-eng' });
    expect(reasonCode(d.reasons[0]!)).toBe('policy_matched');
  });

  it('an allow before a block wins', () => {
    expect(engineWith([allowEng, blockEng]).decide('wiki', req())).toMatchObject({ allow: true, outcome: 'allow', policy: 'eng' });
  });

  it('nothing matching denies by default, with no policy named', () => {
    const d = engineWith([allowEng]).decide('wiki', req({ identity: { ...alice, groups: ['sales'] } }));
    expect(d).toMatchObject({ allow: false, outcome: 'deny', action: 'block' });
    expect(d.policy).toBeUndefined();
    expect(reasonCode(d.reasons[0]!)).toBe('no_policy_matched');
  });

  it('decisions for a matched policy are frozen values', () => {
    const d = engineWith([allowEng]).decide('wiki', req());
    expect(Object.isFrozen(d)).toBe(true);
    expect(Object.isFrozen(d.reasons)).toBe(true);
  });
});

describe('bypass and sign_in', () => {
  const policies = [
    { name: 'health', action: 'bypass', include: [{ everyone: true }], require: [{ path: ['/healthz'] }, { method: ['GET'] }] },
    { name: 'office-only', action: 'block', include: [{ everyone: true }], exclude: [{ ip: ['10.0.0.0/8', '2001:db8::/32'] }] },
    { name: 'eng', action: 'allow', include: [{ group: ['eng'] }] },
  ];
  const engine = engineWith(policies);

  it('bypass serves without identity', () => {
    expect(engine.decide('wiki', anonymous({ path: '/healthz' }))).toMatchObject({ allow: true, outcome: 'bypass', action: 'bypass', policy: 'health' });
  });

  it('bypass also serves a signed-in user', () => {
    expect(engine.decide('wiki', req({ path: '/healthz' })).outcome).toBe('bypass');
  });

  it('no identity and an allow that could apply: sign_in', () => {
    const d = engine.decide('wiki', anonymous({ path: '/wiki/home' }));
    expect(d).toMatchObject({ allow: false, outcome: 'sign_in', policy: 'eng' });
    expect(reasonCode(d.reasons[0]!)).toBe('sign_in_required');
  });

  it('no identity but a block that needs none decides first: deny, not sign_in', () => {
    expect(engine.decide('wiki', anonymous({ ip: '192.0.2.1' }))).toMatchObject({ outcome: 'deny', policy: 'office-only' });
  });

  it('no identity and no policy that could ever apply: deny, not sign_in', () => {
    const e = engineWith([{ name: 'vpn', action: 'allow', include: [{ group: ['eng'] }], require: [{ ip: ['10.0.0.0/8'] }] }]);
    expect(e.decide('wiki', anonymous({ ip: '192.0.2.1' })).outcome).toBe('deny');
    expect(e.decide('wiki', anonymous({ ip: '10.0.0.1' })).outcome).toBe('sign_in');
  });

  it('an allow with only network selectors still needs a user', () => {
    const e = engineWith([{ name: 'lan', action: 'allow', include: [{ ip: ['10.0.0.0/8'] }] }]);
    expect(e.decide('wiki', anonymous()).outcome).toBe('sign_in');
    expect(e.decide('wiki', req()).outcome).toBe('allow');
  });

  it('an identity exclude that might hit still sends an anonymous user to sign in', () => {
    const e = engineWith([{ name: 'all', action: 'allow', include: [{ everyone: true }], exclude: [{ group: ['contractors'] }] }]);
    expect(e.decide('wiki', anonymous()).outcome).toBe('sign_in');
    expect(e.decide('wiki', req({ identity: { ...alice, groups: ['contractors'] } })).outcome).toBe('deny');
  });
});

describe('step_up (auth_age)', () => {
  const admin = { name: 'admin', action: 'allow', include: [{ group: ['eng'] }], require: [{ auth_method: 'phishing_resistant' }, { auth_age: 10 }] };
  const stale = { ...alice, phishingResistantAt: NOW - 11 * 60_000 };

  it('a stale key proof asks for step-up, distinct from deny', () => {
    const d = engineWith([admin]).decide('wiki', req({ identity: stale }));
    expect(d).toMatchObject({ allow: false, outcome: 'step_up', action: 'allow', policy: 'admin' });
    expect(d.reasons).toEqual(['step_up_required: policies[0] "admin" require[1] auth_age: last phishing-resistant proof 11 min ago, max 10 min']);
  });

  it('a session with no key proof at all is asked to step up too', () => {
    const { phishingResistantAt: _dropped, ...noProof } = alice;
    expect(engineWith([{ ...admin, require: [{ auth_age: 10 }] }]).decide('wiki', req({ identity: noProof })).outcome).toBe('step_up');
  });

  it('a fresh proof is allowed', () => {
    expect(engineWith([admin]).decide('wiki', req()).outcome).toBe('allow');
  });

  it('no step-up when the session lacks a security key factor: deny', () => {
    const d = engineWith([admin]).decide('wiki', req({ identity: { ...stale, amr: ['pwd', 'otp'] } }));
    expect(d.outcome).toBe('deny');
    expect(d.reasons).toContain('not_matched: policies[0] "admin" require[0] auth_method: session amr [pwd,otp] lacks phishing_resistant');
  });

  it('a later allow that matches now wins over asking for step-up', () => {
    const reader = { name: 'read', action: 'allow', include: [{ group: ['eng'] }], require: [{ method: ['GET'] }] };
    expect(engineWith([admin, reader]).decide('wiki', req({ identity: stale })).policy).toBe('read');
  });

  it('a later block does not hide the step-up: after a fresh touch the earlier allow decides', () => {
    const blockAll = { name: 'rest', action: 'block', include: [{ everyone: true }] };
    expect(engineWith([admin, blockAll]).decide('wiki', req({ identity: stale })).outcome).toBe('step_up');
  });

  it('an earlier block wins: no step-up offered', () => {
    const blockEng = { name: 'freeze', action: 'block', include: [{ group: ['eng'] }] };
    expect(engineWith([blockEng, admin]).decide('wiki', req({ identity: stale })).outcome).toBe('deny');
  });

  it('auth_age on a block policy never turns into a step-up', () => {
    const odd = { name: 'odd', action: 'block', include: [{ everyone: true }], require: [{ auth_age: 10 }] };
    expect(engineWith([odd]).decide('wiki', req({ identity: stale })).outcome).toBe('deny');
  });

  it('without identity, auth_age means sign in first', () => {
    expect(engineWith([admin]).decide('wiki', anonymous()).outcome).toBe('sign_in');
  });
});

describe('global rules run before any app', () => {
  const allowAll = [{ name: 'all', action: 'bypass', include: [{ everyone: true }] }];

  it.each([
    ['203.0.113.9', 'ip_blocked'],
    ['::ffff:203.0.113.9', 'ip_blocked'],
    ['2001:db8:bad::1', 'ip_blocked'],
    ['203.0.114.1', undefined],
  ])('access.blocked_ips: %s', (ip, code) => {
    const d = engineWith(allowAll, { blocked_ips: ['203.0.113.0/24', '2001:db8:bad::/48'] }).decide('wiki', anonymous({ ip }));
    if (code === undefined) expect(d.outcome).toBe('bypass');
    else {
      expect(d).toMatchObject({ allow: false, outcome: 'deny', action: 'block' });
      expect(reasonCode(d.reasons[0]!)).toBe(code);
    }
  });

  it('the blocked_ips reason names the matching CIDR', () => {
    const d = engineWith(allowAll, { blocked_ips: ['203.0.113.0/24'] }).decide('wiki', anonymous({ ip: '::ffff:203.0.113.9' }));
    expect(d.reasons).toEqual(['ip_blocked: 203.0.113.9 in access.blocked_ips 203.0.113.0/24']);
  });

  it('the runtime block set is asked with the canonical address', () => {
    const blocked = new Set(['198.51.100.7', '2001:db8::7']);
    const asked: string[] = [];
    const engine = engineWith(allowAll, {}, (ip) => {
      asked.push(ip);
      return blocked.has(ip);
    });
    expect(reasonCode(engine.decide('wiki', anonymous({ ip: '::FFFF:198.51.100.7' })).reasons[0]!)).toBe('ip_blocked');
    expect(reasonCode(engine.decide('wiki', anonymous({ ip: '2001:0db8:0::7' })).reasons[0]!)).toBe('ip_blocked');
    expect(engine.decide('wiki', anonymous({ ip: '198.51.100.8' })).outcome).toBe('bypass');
    expect(asked).toEqual(['198.51.100.7', '2001:db8::7', '198.51.100.8']);
  });

  it.each(['::ffff:198.51.100.7', '::FFFF:198.51.100.7', '::ffff:c633:6407', '0:0:0:0:0:ffff:198.51.100.7', '::ffff:198.51.100.7%eth0', '198.51.100.7'])(
    'every spelling of a mapped IPv4 address reaches the runtime block set as dotted IPv4: %s',
    (ip) => {
      const asked: string[] = [];
      const d = engineWith(allowAll, {}, (canonical) => asked.push(canonical) > 0 && canonical === '198.51.100.7').decide('wiki', anonymous({ ip }));
      expect(asked).toEqual(['198.51.100.7']);
      expect(d.reasons).toEqual(['ip_blocked: 198.51.100.7 in the runtime block list']);
    },
  );

  it('the runtime block set gets the canonical text for every spelling, beyond the spellings kept for reuse', () => {
    const asked: string[] = [];
    const engine = engineWith(allowAll, {}, (ip) => asked.push(ip) < 0);
    const expected: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 1; i < 6000; i += 3) {
        engine.decide('wiki', anonymous({ ip: `2001:0DB8:0:0::${i.toString(16)}` }));
        expected.push(`2001:db8::${i.toString(16)}`);
      }
    }
    expect(asked).toEqual(expected);
  });

  it('an address unblocked at run time is served again at once, whatever was decided for it before', () => {
    const blocked = new Set(['198.51.100.7']);
    const engine = engineWith(allowAll, { blocked_ips: ['203.0.113.0/24'] }, (ip) => blocked.has(ip));
    const first = engine.decide('wiki', anonymous({ ip: '198.51.100.7' }));
    expect(first.reasons).toEqual(['ip_blocked: 198.51.100.7 in the runtime block list']);
    expect(engine.decide('wiki', anonymous({ ip: '::ffff:198.51.100.7' }))).toBe(first);
    blocked.delete('198.51.100.7');
    expect(engine.decide('wiki', anonymous({ ip: '198.51.100.7' })).outcome).toBe('bypass');
    blocked.add('198.51.100.7');
    expect(engine.decide('wiki', anonymous({ ip: '198.51.100.7' })).outcome).toBe('deny');
  });

  it('each blocked address is named in its own reason, beyond the number of denials kept for reuse', () => {
    const engine = engineWith(allowAll, { blocked_ips: ['10.0.0.0/8'] }, (ip) => ip.startsWith('198.51.'));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i += 7) {
        const a = `10.${i >> 8}.${i & 255}.1`;
        const b = `198.51.${i >> 8}.${i & 255}`;
        expect(engine.decide('wiki', anonymous({ ip: a })).reasons).toEqual([`ip_blocked: ${a} in access.blocked_ips 10.0.0.0/8`]);
        expect(engine.decide('wiki', anonymous({ ip: b })).reasons).toEqual([`ip_blocked: ${b} in the runtime block list`]);
      }
    }
    expect(Object.isFrozen(engine.decide('wiki', anonymous({ ip: '198.51.0.1' })).reasons)).toBe(true);
  });

  it('a blocked address is denied even for an unknown app', () => {
    const d = engineWith(allowAll, { blocked_ips: ['203.0.113.0/24'] }).decideForHost('nope.acme.test', anonymous({ ip: '203.0.113.1' }));
    expect(reasonCode(d.reasons[0]!)).toBe('ip_blocked');
  });

  it('a throwing runtime block set fails closed', () => {
    const d = engineWith(allowAll, {}, () => {
      throw new Error('block set unavailable');
    }).decide('wiki', anonymous());
    expect(d).toMatchObject({ allow: false, outcome: 'deny' });
    expect(d.reasons).toEqual(['evaluation_error: block set unavailable']);
  });

  it.each(['', 'not-an-ip', '010.1.2.3', '1.2.3.4, 5.6.7.8', '10.1.2.3:443'])('an unreadable client address %j is denied', (ip) => {
    const d = engineWith(allowAll).decide('wiki', anonymous({ ip }));
    expect(d.outcome).toBe('deny');
    expect(reasonCode(d.reasons[0]!)).toBe('ip_invalid');
  });

  it.each([
    ['/a%2Fb', 'path_encoded_separator'],
    ['relative', 'path_not_origin_form'],
    ['/a\\b', 'path_backslash'],
    ['/%zz', 'path_invalid_escape'],
    ['/admin/..;/x', 'path_parameters'],
    ['/admin.', 'path_trailing_dot_or_space'],
    ['/admin%09', 'path_trailing_dot_or_space'],
    ['/admin::$DATA', 'path_ntfs_stream'],
  ])('a path an upstream could route differently (%j) is denied, even on a bypass, naming %s', (path, code) => {
    const d = engineWith(allowAll).decide('wiki', anonymous({ path }));
    expect(d).toMatchObject({ allow: false, outcome: 'deny' });
    expect(reasonCode(d.reasons[0]!)).toBe('path_invalid');
    expect(d.reasons[0]).toContain(`(${code})`);
  });
});

describe('path case (apps[].case_sensitive_paths)', () => {
  const blockAdmin = [
    { name: 'no-admin', action: 'block', include: [{ path: ['/Admin', '/api/*/Keys'] }] },
    { name: 'open', action: 'bypass', include: [{ everyone: true }] },
  ];
  function engineFor(caseSensitive: boolean | undefined): PolicyEngine {
    const app = { name: 'wiki', host: 'wiki.acme.test', upstream: 'http://127.0.0.1:9', policies: blockAdmin };
    const config = z.strictObject({ apps: appsSchema, access: accessSchema }).parse({
      apps: [caseSensitive === undefined ? app : { ...app, case_sensitive_paths: caseSensitive }],
    });
    return compilePolicyEngine(config);
  }

  it.each(['/admin', '/ADMIN', '/aDmIn/x', '/%41dmin', '/api/v1/keys', '/API/V1/KEYS'])('by default %j meets a block on /Admin whatever its case', (path) => {
    expect(engineFor(undefined).decide('wiki', anonymous({ path }))).toMatchObject({ allow: false, policy: 'no-admin' });
  });

  it('audit lines show the folded path and patterns, which are what was compared', () => {
    const d = engineWith([{ name: 'p', action: 'allow', include: [{ everyone: true }], require: [{ path: ['/Admin'] }] }]).decide('wiki', req({ path: '/Public' }));
    expect(d.reasons).toContain('not_matched: policies[0] "p" require[0] path: path /public not covered by [/admin]');
  });

  it('case_sensitive_paths: true compares case exactly', () => {
    const engine = engineFor(true);
    expect(engine.decide('wiki', anonymous({ path: '/Admin/x' }))).toMatchObject({ allow: false, policy: 'no-admin' });
    expect(engine.decide('wiki', anonymous({ path: '/api/v1/Keys' }))).toMatchObject({ allow: false, policy: 'no-admin' });
    expect(engine.decide('wiki', anonymous({ path: '/admin' }))).toMatchObject({ allow: true, policy: 'open' });
    expect(engine.decide('wiki', anonymous({ path: '/api/v1/keys' }))).toMatchObject({ allow: true, policy: 'open' });
  });

  it('an engine given apps without the field (skipped schema) folds case, the safe default', () => {
    const engine = compilePolicyEngine({
      apps: [{ name: 'x', host: 'x.test', upstream: 'http://127.0.0.1:1', policies: [{ action: 'block', include: [{ path: ['/admin'] }], require: [], exclude: [] }] }],
      access: { blocked_ips: [] },
    });
    expect(engine.decide('x', anonymous({ path: '/ADMIN' }))).toMatchObject({ allow: false, outcome: 'deny', action: 'block' });
  });
});

describe('apps by name and host', () => {
  const engine = engineWith([{ name: 'eng', action: 'allow', include: [{ group: ['eng'] }] }]);

  it('finds apps by host, ignoring case, port and a trailing dot', () => {
    expect(engine.appForHost('WIKI.acme.test:8443')?.name).toBe('wiki');
    expect(engine.appForHost('wiki.acme.test.')?.name).toBe('wiki');
    expect(engine.decideForHost('Grafana.Acme.Test', req()).outcome).toBe('allow');
    expect(engine.apps.map((a) => a.upstream)).toEqual(['http://127.0.0.1:9', 'https://10.0.0.5']);
  });

  it('an unknown app or host is denied with app_unknown', () => {
    expect(engine.decide('nope', req()).reasons).toEqual(['app_unknown: no app named "nope"']);
    // Only a string names an app: a caller passing something else gets no app, not a coerced match.
    const numbered = compilePolicyEngine({ apps: [{ name: '5', host: 'five.test', upstream: 'http://127.0.0.1:1', policies: [] }], access: { blocked_ips: [] } });
    expect(numbered.decide(5 as unknown as string, req()).reasons).toEqual(['app_unknown: no app named "5"']);
    expect(reasonCode(numbered.decide('5', req()).reasons[0]!)).toBe('no_policy_matched');
    const d = engine.decideForHost('evil.test', req());
    expect(d.reasons).toEqual(['app_unknown: no app for host "evil.test"']);
  });

  it('an app with no policies denies everything (engine given config that skipped the schema)', () => {
    const bare = compilePolicyEngine({ apps: [{ name: 'x', host: 'x.test', upstream: 'http://127.0.0.1:1', policies: [] }], access: { blocked_ips: [] } });
    expect(bare.decide('x', req()).outcome).toBe('deny');
  });

  it('misuse at compile time throws (duplicate apps, auth_age under exclude)', () => {
    const app = { name: 'x', host: 'x.test', upstream: 'http://127.0.0.1:1', policies: [] };
    expect(() => compilePolicyEngine({ apps: [app, app], access: { blocked_ips: [] } })).toThrow(/duplicate app/);
    const bad = { action: 'allow' as const, include: [{ everyone: true as const }], require: [], exclude: [{ auth_age: 5 }] };
    expect(() => compilePolicyEngine({ apps: [{ ...app, policies: [bad] }], access: { blocked_ips: [] } })).toThrow(/auth_age under exclude/);
  });

  it('long deny explanations are capped', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ action: 'allow', include: [{ group: [`g${i}`] }] }));
    const d = engineWith(many).decide('wiki', req());
    expect(d.reasons).toHaveLength(16);
    expect(d.reasons[15]).toBe('reasons_truncated: 15 more allow policies not explained');
  });
});
