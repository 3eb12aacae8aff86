import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { accessSchema, appsSchema } from '../../config/index.js';
import { type AccessIdentity, type AccessRequest, type AccessServiceToken, type PolicyEngine, compilePolicyEngine, reasonCode } from './index.js';

/**
 * The non-identity allow: a verified service token passes an allow policy only through a
 * `service_token` / `service_token_tag` selector of that policy; it never satisfies an identity
 * selector, and a person never satisfies a token selector. The property test checks that the packed
 * program and the closures agree on these selectors; these are the rules stated by example.
 */

const NOW = Date.UTC(2026, 0, 7, 10, 0);
const alice: AccessIdentity = { userId: 'u-alice', email: 'alice@acme.test', groups: ['eng'], amr: ['hwk'], phishingResistantAt: NOW - 60_000 };
const ciDeploy: AccessServiceToken = { name: 'ci-deploy', tags: ['ci', 'prod'] };
const base = { ip: '10.1.2.3', method: 'GET', path: '/', now: NOW };
const asToken = (serviceToken: AccessServiceToken = ciDeploy, over: Partial<AccessRequest> = {}): AccessRequest => ({ ...base, serviceToken, ...over });
const asPerson = (over: Partial<AccessRequest> = {}): AccessRequest => ({ ...base, identity: alice, ...over });
const anonymous: AccessRequest = base;

const parse = (policies: unknown[]) =>
  z.strictObject({ apps: appsSchema, access: accessSchema }).parse({ apps: [{ name: 'deploy', host: 'deploy.acme.test', upstream: 'http://127.0.0.1:9', policies }] });
const engineWith = (policies: unknown[]): PolicyEngine => compilePolicyEngine(parse(policies));

describe('service_token selectors', () => {
  const byName = { name: 'machines', action: 'allow', include: [{ service_token: ['ci-deploy'] }] };
  const byTag = { name: 'tagged', action: 'allow', include: [{ service_token_tag: ['ci'] }], require: [{ method: ['GET'] }] };
  const people = { name: 'people', action: 'allow', include: [{ group: ['eng'] }] };

  it('let a named or tagged token in without a session (the non-identity allow)', () => {
    expect(engineWith([byName]).decide('deploy', asToken())).toMatchObject({ allow: true, outcome: 'allow', policy: 'machines' });
    expect(engineWith([byTag]).decide('deploy', asToken({ name: 'other', tags: ['ci'] }))).toMatchObject({ allow: true, outcome: 'allow', policy: 'tagged' });
    const post = engineWith([byTag]).decide('deploy', asToken({ name: 'other', tags: ['ci'] }, { method: 'POST' }));
    expect(post).toMatchObject({ allow: false, outcome: 'deny' });
    expect(post.reasons).toContain('not_matched: policies[0] "tagged" require[0] method: method POST not in [GET]');
  });

  it('refuse a token they do not name, explaining the miss', () => {
    const d = engineWith([byName]).decide('deploy', asToken({ name: 'backup', tags: ['nightly'] }));
    expect(d).toMatchObject({ allow: false, outcome: 'deny' });
    expect(d.reasons).toContain('not_matched: policies[0] "machines" include[0] service_token: service token backup not in [ci-deploy]');
  });

  it('are never satisfied by a person, who is then denied (not sent to sign in again)', () => {
    const d = engineWith([byName]).decide('deploy', asPerson());
    expect(d).toMatchObject({ allow: false, outcome: 'deny' });
    expect(d.reasons).toContain('not_matched: policies[0] "machines" include[0] service_token: no service token');
    // Anonymous: no sign-in can satisfy a token selector, so a token-only app denies.
    expect(engineWith([byName]).decide('deploy', anonymous).outcome).toBe('deny');
    // With a person's policy beside it, the anonymous browser is sent to sign in for that one.
    expect(engineWith([byName, people]).decide('deploy', anonymous)).toMatchObject({ outcome: 'sign_in', policy: 'people' });
    expect(engineWith([byName, people]).decide('deploy', asPerson())).toMatchObject({ outcome: 'allow', policy: 'people' });
  });

  it('a token never satisfies an identity selector and is never sent to sign in or step up', () => {
    for (const include of [{ group: ['eng'] }, { email: ['alice@acme.test'] }, { email_domain: ['acme.test'] }, { auth_method: ['hwk'] }, { auth_age: 5 }]) {
      const d = engineWith([{ name: 'p', action: 'allow', include: [include] }]).decide('deploy', asToken());
      expect(d).toMatchObject({ allow: false, outcome: 'deny' });
      expect(d.reasons.join('\n')).toContain('a service token, not a signed-in user');
    }
    const stepUp = engineWith([{ name: 'p', action: 'allow', include: [{ service_token: ['ci-deploy'] }], require: [{ auth_age: 5 }] }]).decide('deploy', asToken());
    expect(stepUp).toMatchObject({ allow: false, outcome: 'deny' });
  });

  it('an allow written for people (everyone, an address range) never lets a token in', () => {
    const d = engineWith([{ name: 'open', action: 'allow', include: [{ everyone: true }] }]).decide('deploy', asToken());
    expect(d).toMatchObject({ allow: false, outcome: 'deny' });
    expect(reasonCode(d.reasons[0]!)).toBe('no_policy_matched');
    expect(d.reasons).toContain('not_matched: policies[0] "open" (allow) needs a signed-in user, or a service_token or service_token_tag selector naming the token');
    // ...even beside a token selector that names another token: the policy's own token selector must match.
    const mixed = engineWith([{ name: 'mixed', action: 'allow', include: [{ ip: ['10.0.0.0/8'] }, { service_token: ['backup'] }] }]);
    expect(mixed.decide('deploy', asToken()).allow).toBe(false);
    expect(mixed.decide('deploy', asToken({ name: 'backup', tags: [] })).allow).toBe(true);
  });

  it('block and bypass still apply to a token, and an exclude on people does not touch it', () => {
    expect(engineWith([{ name: 'no-prod', action: 'block', include: [{ service_token_tag: ['prod'] }] }, byName]).decide('deploy', asToken())).toMatchObject({ allow: false, policy: 'no-prod' });
    expect(engineWith([{ name: 'health', action: 'bypass', include: [{ path: ['/health'] }] }]).decide('deploy', asToken(ciDeploy, { path: '/health' }))).toMatchObject({ outcome: 'bypass' });
    const excluded = { ...byName, exclude: [{ group: ['contractors'] }] };
    expect(engineWith([excluded]).decide('deploy', asToken()).allow).toBe(true);
  });

  it('a request carrying both a person and a token is judged as the person (the gateway never sends both)', () => {
    expect(engineWith([byName]).decide('deploy', { ...asPerson(), serviceToken: ciDeploy }).allow).toBe(false);
  });
});

describe('service_token selectors in the config schema', () => {
  const problems = (policies: unknown[]) => {
    const result = z.strictObject({ apps: appsSchema, access: accessSchema }).safeParse({ apps: [{ name: 'deploy', host: 'deploy.acme.test', upstream: 'http://127.0.0.1:9', policies }] });
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts names and tags as slugs, one key per selector', () => {
    expect(problems([{ action: 'allow', include: [{ service_token: ['ci-deploy'] }, { service_token_tag: ['ci'] }] }])).toEqual([]);
  });

  it('refuses a bad name, an empty list, two keys in one selector, and a token selector in a bypass policy', () => {
    expect(problems([{ action: 'allow', include: [{ service_token: ['CI Deploy'] }] }]).join('\n')).toContain('service token name must be a slug');
    expect(problems([{ action: 'allow', include: [{ service_token_tag: [] }] }]).join('\n')).toContain('service_token_tag needs at least one entry');
    expect(problems([{ action: 'allow', include: [{ service_token: ['a'], group: ['eng'] }] }]).join('\n')).toContain('one selector per entry');
    expect(problems([{ action: 'bypass', include: [{ service_token: ['ci-deploy'] }] }]).join('\n')).toContain('bypass policies serve requests without any credential');
    expect(problems([{ action: 'allow', include: [{ service_tokens: ['ci-deploy'] }] }]).join('\n')).toContain('unknown selector "service_tokens"');
  });
});
