import fc from 'fast-check';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { accessSchema, appsSchema } from '../../config/index.js';
import { compilePolicy } from './compile-policy.js';
import { NO, YES, compileSelector } from './compile-selector.js';
import { EvalContext } from './eval-context.js';
import { foldPolicyPaths } from './fold-path-case.js';
import { type AccessRequest, type PolicyEngine, compilePolicyEngine, reasonCode } from './index.js';
import { parseIpInto } from '../../lib/ip/ip-address.js';
import { matchedPathOf } from './normalize-path.js';
import { ProgramTables, runPolicy, selectorResults } from './policy-program.js';
import { ZonedWeekClocks } from '../../lib/zoned-week-clock.js';

/**
 * Properties over random configs and requests drawn from small value pools, so selectors match
 * often enough for every outcome to occur. Configs go through the real schema first.
 */

const NOW = Date.UTC(2026, 0, 7, 10, 0);
const sub = <T>(values: readonly T[]) => fc.subarray([...values], { minLength: 1 });

const networkSelector = fc.oneof(
  fc.constant({ everyone: true }),
  sub(['10.0.0.0/8', '192.0.2.0/24', '2001:db8::/32', '::ffff:203.0.113.0/120']).map((ip) => ({ ip })),
  sub(['GET', 'POST', 'DELETE']).map((method) => ({ method })),
  sub(['/admin', '/api/*', '/', '/**/*.php', '/Admin/X']).map((path) => ({ path })),
  fc.record({ days: sub(['mon', 'wed', 'sat']), hours: sub(['00:00-12:00', '09:00-17:00']), time_zone: fc.constantFrom('UTC', 'Europe/Paris', 'Asia/Tokyo') }).map((time) => ({ time })),
);
const identitySelectorNoAge = fc.oneof(
  sub(['alice@acme.test', 'bob@acme.test']).map((email) => ({ email })),
  sub(['acme.test', 'evil.test']).map((email_domain) => ({ email_domain })),
  sub(['eng', 'ops', 'contractors']).map((group) => ({ group })),
  sub(['phishing_resistant', 'hwk', 'swk', 'otp', 'pwd']).map((auth_method) => ({ auth_method })),
);
const tokenSelector = fc.oneof(
  sub(['ci-deploy', 'backup']).map((service_token) => ({ service_token })),
  sub(['ci', 'nightly']).map((service_token_tag) => ({ service_token_tag })),
);
const anySelector = fc.oneof(networkSelector, identitySelectorNoAge, tokenSelector, fc.constantFrom(5, 60).map((auth_age) => ({ auth_age })));
const noAgeSelector = fc.oneof(networkSelector, identitySelectorNoAge, tokenSelector);

const policyArb = fc.oneof(
  fc.record({
    action: fc.constantFrom('allow', 'block'),
    include: fc.array(anySelector, { minLength: 1, maxLength: 3 }),
    require: fc.array(anySelector, { maxLength: 2 }),
    exclude: fc.array(noAgeSelector, { maxLength: 2 }),
  }),
  fc.record({
    action: fc.constant('bypass'),
    include: fc.array(networkSelector, { minLength: 1, maxLength: 2 }),
    require: fc.array(networkSelector, { maxLength: 2 }),
    exclude: fc.array(networkSelector, { maxLength: 1 }),
  }),
);
type RawPolicy = { action: string; include: unknown[]; require: unknown[]; exclude: unknown[]; name?: string };
const policiesArb = fc.array(policyArb, { minLength: 1, maxLength: 6 }) as fc.Arbitrary<RawPolicy[]>;

const identityArb = fc.record({
  userId: fc.constant('u1'),
  email: fc.constantFrom('alice@acme.test', 'Bob@ACME.test', 'eve@evil.test'),
  groups: sub(['eng', 'ops', 'contractors', 'sales']),
  amr: sub(['hwk', 'swk', 'otp', 'pwd']),
  phishingResistantAt: fc.option(fc.integer({ min: 0, max: 120 }).map((m) => NOW - m * 60_000), { nil: undefined }),
});
const serviceTokenArb = fc.record({
  name: fc.constantFrom('ci-deploy', 'backup', 'other'),
  tags: fc.subarray(['ci', 'nightly', 'prod']),
});
/** A person, a machine's service token, or nobody: the gateway never sends both. */
const credentialArb = fc.oneof(
  identityArb.map((identity) => ({ identity })),
  serviceTokenArb.map((serviceToken) => ({ serviceToken })),
  fc.constant({}),
);
const requestArb: fc.Arbitrary<AccessRequest> = fc
  .tuple(
    fc.record({
      ip: fc.constantFrom('10.1.2.3', '::ffff:10.9.9.9', '192.0.2.5', '2001:db8::5', '203.0.113.7', '198.51.100.1'),
      method: fc.constantFrom('GET', 'post', 'DELETE'),
      path: fc.constantFrom('/', '/admin/x', '/api/v1', '/a/b.php', '/public/../admin', '/ADMIN/x', '/Api/v1', '/A/B.PHP'),
      now: fc.integer({ min: 0, max: 7 * 24 * 60 }).map((m) => NOW + m * 60_000),
    }),
    credentialArb,
  )
  .map(([request, credential]) => ({ ...request, ...credential }));

function named(policies: RawPolicy[]): RawPolicy[] {
  return policies.map((p, i) => ({ ...p, name: p.name ?? `p${i}` }));
}

function engineOf(policies: RawPolicy[], caseSensitive = false): PolicyEngine {
  const config = z.strictObject({ apps: appsSchema, access: accessSchema }).parse({
    apps: [{ name: 'app', host: 'app.acme.test', upstream: 'http://127.0.0.1:9', policies: named(policies), case_sensitive_paths: caseSensitive }],
  });
  return compilePolicyEngine(config);
}

const RUNS = 200;
const SLICE = 20;

/**
 * fc.assert in slices of SLICE runs, yielding to the event loop between them: hundreds of engine
 * compilations in one synchronous loop froze the test worker for seconds (and with it its RPC to
 * vitest). Each slice has its own seed, printed by fast-check with any counterexample.
 */
async function assertInSlices<Ts>(property: fc.IProperty<Ts>): Promise<void> {
  const seed = Date.now() | 0;
  for (let done = 0; done < RUNS; done += SLICE) {
    fc.assert(property, { numRuns: SLICE, seed: seed + done });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('policy engine properties', () => {
  it('evaluation is deterministic, across repeats, engines and interleaved requests', async () => {
    await assertInSlices(
      fc.property(policiesArb, requestArb, requestArb, (policies, request, other) => {
        const a = engineOf(policies);
        const b = engineOf(policies);
        const first = a.decide('app', request);
        a.decide('app', other);
        expect(a.decide('app', request)).toEqual(first);
        expect(b.decide('app', request)).toEqual(first);
      }),
    );
  });

  it('exclude always wins: a policy whose exclude matches never decides', async () => {
    await assertInSlices(
      fc.property(policiesArb, requestArb, fc.boolean(), (raw, request, byAddress) => {
        const policies = named(raw);
        const decision = engineOf(policies).decide('app', request);
        const index = policies.findIndex((p) => p.name === decision.policy);
        fc.pre(index >= 0);
        const ip = request.ip.startsWith('::ffff:') ? request.ip.slice(7) : request.ip;
        const matching = byAddress ? { ip: [ip] } : { everyone: true };
        policies[index] = { ...policies[index]!, exclude: [...policies[index]!.exclude, matching] };
        expect(engineOf(policies).decide('app', request).policy).not.toBe(decision.policy);
      }),
    );
  });

  it('no matching policy means deny', async () => {
    await assertInSlices(
      fc.property(policiesArb, requestArb, (raw, request) => {
        const excludedAll = raw.map((p) => ({ ...p, exclude: [...p.exclude, { everyone: true }] }));
        const decision = engineOf(excludedAll).decide('app', request);
        expect(decision).toMatchObject({ allow: false, outcome: 'deny', action: 'block' });
        expect(reasonCode(decision.reasons[0]!)).toBe('no_policy_matched');
      }),
    );
  });

  it('a block before an allow wins', async () => {
    await assertInSlices(
      fc.property(policiesArb, requestArb, fc.nat(), (raw, request, at) => {
        const policies = named(raw);
        const decision = engineOf(policies).decide('app', request);
        fc.pre(decision.outcome === 'allow');
        const index = policies.findIndex((p) => p.name === decision.policy);
        const block = { ...policies[index]!, action: 'block', name: 'inserted-block' };
        const position = at % (index + 1);
        policies.splice(position, 0, block);
        // Not necessarily 'deny': an earlier allow waiting on a stale key proof may still offer step_up.
        const after = engineOf(policies).decide('app', request);
        expect(after.allow).toBe(false);
        expect(['deny', 'step_up']).toContain(after.outcome);
      }),
    );
  });

  it('only allow and bypass outcomes let a request through, and allow always has a user or a token its policy names', async () => {
    await assertInSlices(
      fc.property(policiesArb, requestArb, (raw, request) => {
        const policies = named(raw);
        const d = engineOf(policies).decide('app', request);
        expect(d.allow).toBe(d.outcome === 'allow' || d.outcome === 'bypass');
        if (d.outcome === 'allow' && request.identity === undefined) {
          expect(request.serviceToken).toBeDefined();
          const policy = policies.find((p) => p.name === d.policy)!;
          const token = request.serviceToken!;
          const names = (s: unknown) => {
            const sel = s as { service_token?: string[]; service_token_tag?: string[] };
            return Boolean(sel.service_token?.includes(token.name) || sel.service_token_tag?.some((tag) => token.tags.includes(tag)));
          };
          expect([...policy.include, ...policy.require].some(names)).toBe(true);
        }
        // A machine cannot sign in or touch a key: it is let in or refused, never sent to the portal.
        if (d.outcome === 'sign_in') expect(request.identity ?? request.serviceToken).toBeUndefined();
        if (d.outcome === 'step_up') expect(request.identity).toBeDefined();
      }),
    );
  });

  it('a service token never satisfies an identity selector, and a person never satisfies a service_token selector', async () => {
    const identityOnly = fc.array(
      fc.record({ action: fc.constant('allow'), include: fc.array(fc.oneof(networkSelector, identitySelectorNoAge), { minLength: 1, maxLength: 3 }), require: fc.array(anySelector.filter((s) => !('service_token' in s || 'service_token_tag' in s)), { maxLength: 2 }), exclude: fc.constant([]) }),
      { minLength: 1, maxLength: 4 },
    ) as fc.Arbitrary<RawPolicy[]>;
    const tokenOnly = fc.array(
      fc.record({ action: fc.constant('allow'), include: fc.array(tokenSelector, { minLength: 1, maxLength: 2 }), require: fc.constant([]), exclude: fc.constant([]) }),
      { minLength: 1, maxLength: 4 },
    ) as fc.Arbitrary<RawPolicy[]>;
    await assertInSlices(
      fc.property(identityOnly, tokenOnly, requestArb, serviceTokenArb, identityArb, (people, machines, request, serviceToken, identity) => {
        const asToken = { ...request, identity: undefined, serviceToken };
        expect(engineOf(people).decide('app', asToken)).toMatchObject({ allow: false, outcome: 'deny' });
        expect(engineOf(machines).decide('app', { ...request, identity, serviceToken: undefined }).allow).toBe(false);
      }),
    );
  });

  it('step_up is sound: touching the key again (a fresh proof now) gets the request allowed', async () => {
    // Biased so step-ups are common: a stale proof and an allow with auth_age somewhere.
    const stepUpPolicy = fc.record({
      action: fc.constant('allow'),
      include: fc.array(anySelector, { minLength: 1, maxLength: 2 }),
      require: fc.array(anySelector, { maxLength: 1 }).map((r) => [...r, { auth_age: 5 }]),
      exclude: fc.array(noAgeSelector, { maxLength: 1 }),
    });
    const policies = fc.tuple(policiesArb, stepUpPolicy, fc.nat()).map(([list, extra, at]) => {
      const copy = [...list];
      copy.splice(at % (copy.length + 1), 0, extra);
      return copy;
    });
    const staleRequest = fc.tuple(requestArb, identityArb).map(([r, identity]) => ({ ...r, identity: { ...identity, phishingResistantAt: r.now - 30 * 60_000 } }));
    await assertInSlices(
      fc.property(policies, staleRequest, (policies, request) => {
        const engine = engineOf(policies);
        const d = engine.decide('app', request);
        fc.pre(d.outcome === 'step_up');
        const fresh = { ...request, identity: { ...request.identity!, phishingResistantAt: request.now } };
        expect(engine.decide('app', fresh)).toMatchObject({ outcome: 'allow', policy: d.policy });
      }),
    );
  });

  it('deny is not step_up-able: a deny stays a non-allow after a fresh proof unless a step_up was offered', async () => {
    await assertInSlices(
      fc.property(policiesArb, requestArb, (policies, request) => {
        fc.pre(request.identity !== undefined);
        const engine = engineOf(policies);
        const d = engine.decide('app', request);
        fc.pre(d.outcome === 'deny');
        const fresh = { ...request, identity: { ...request.identity!, phishingResistantAt: request.now } };
        expect(engine.decide('app', fresh).outcome).toBe('deny');
      }),
    );
  });

  it('paths ignore case by default: a path and any re-casing of it get the same decision', async () => {
    const recased = fc.tuple(requestArb, fc.array(fc.boolean(), { minLength: 16, maxLength: 16 })).map(([request, upper]) => ({
      request,
      other: { ...request, path: [...request.path].map((c, i) => (upper[i % 16] ? c.toUpperCase() : c.toLowerCase())).join('') },
    }));
    await assertInSlices(
      fc.property(policiesArb, recased, (policies, { request, other }) => {
        const engine = engineOf(policies);
        expect(engine.decide('app', other)).toEqual(engine.decide('app', request));
      }),
    );
  });

  /** One app's policies emitted as a program, and an evaluation context loaded with `request`, folded as the engine folds. */
  function programFor(raw: unknown, request: Parameters<EvalContext['reset']>[0], caseSensitive: boolean) {
    const config = z.strictObject({ apps: appsSchema, access: accessSchema }).parse({
      apps: [{ name: 'app', host: 'app.acme.test', upstream: 'http://127.0.0.1:9', policies: raw, case_sensitive_paths: caseSensitive }],
    });
    const policies = caseSensitive ? config.apps[0]!.policies : foldPolicyPaths(config.apps[0]!.policies);
    const clocks = new ZonedWeekClocks();
    const tables = new ProgramTables(clocks);
    const app = tables.emitApp(policies);
    tables.seal();
    const ctx = new EvalContext(tables.groupWords);
    ctx.reset(request);
    expect(parseIpInto(request.ip, ctx.ip)).toBe(true);
    ctx.path = matchedPathOf(request.path, caseSensitive)!;
    return { policies, clocks, tables, app, ctx };
  }

  it('the flat program and the readable closure form agree on every policy (three-valued)', async () => {
    await assertInSlices(
      fc.property(policiesArb, requestArb, fc.boolean(), (raw, request, caseSensitive) => {
        const { policies, clocks, tables, app, ctx } = programFor(raw, request, caseSensitive);
        policies.forEach((policy, i) => {
          expect(runPolicy(tables.code, tables.policyStart(app, i), ctx, tables)).toBe(compilePolicy(policy, i, clocks).match(ctx));
        });
      }),
    );
  });

  it('per selector, the program and the closures agree, and so do the miss lines built from either', async () => {
    await assertInSlices(
      fc.property(policiesArb, requestArb, fc.boolean(), (raw, request, caseSensitive) => {
        const { policies, clocks, tables, app, ctx } = programFor(raw, request, caseSensitive);
        policies.forEach((policy, i) => {
          const selectors = [...policy.include, ...policy.require, ...policy.exclude].map((s) => compileSelector(s, clocks));
          const results = new Uint8Array(selectors.length);
          const included = selectorResults(tables.code, tables.policyStart(app, i), ctx, tables, results);
          const tests = selectors.map((s) => s.test(ctx));
          expect(included).toBe(tests.slice(0, policy.include.length).includes(YES));
          // Include is read up to its first YES; require and exclude only after one.
          const firstYes = tests.slice(0, policy.include.length).indexOf(YES);
          const includeRead = firstYes < 0 ? policy.include.length : firstYes + 1;
          expect(Array.from(results.subarray(0, includeRead))).toEqual(tests.slice(0, includeRead));
          if (included) expect(Array.from(results.subarray(policy.include.length))).toEqual(tests.slice(policy.include.length));
          // The lines a deny would carry, written the plain way from the closures.
          const expected: string[] = [];
          const label = `policies[${i}]`;
          const head = (code: string, list: string, j: number, k: number) => `${code}: ${label} ${list}[${j}] ${selectors[k]!.kind}: ${selectors[k]!.describe(ctx, tests[k]!)}`;
          if (!included) policy.include.forEach((_, j) => expected.push(head('not_matched', 'include', j, j)));
          else {
            policy.require.forEach((_, j) => tests[policy.include.length + j] !== YES && expected.push(head('not_matched', 'require', j, policy.include.length + j)));
            const at = policy.include.length + policy.require.length;
            policy.exclude.forEach((_, j) => tests[at + j] !== NO && expected.push(head('excluded', 'exclude', j, at + j)));
            // An allow whose selectors all passed for a machine, without a token selector naming it.
            if (expected.length === 0 && policy.action === 'allow' && request.identity === undefined && request.serviceToken !== undefined) {
              expected.push(`not_matched: ${label} (allow) needs a signed-in user, or a service_token or service_token_tag selector naming the token`);
            }
          }
          const lines: string[] = [];
          compilePolicy(policy, i, clocks).explainMiss(ctx, lines, results, included);
          expect(lines).toEqual(expected);
        });
      }),
    );
  });
});
