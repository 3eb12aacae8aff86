import { compilePolicyEngine, type PolicyEngineOptions } from './compile-policy-engine.js';
import { type AccessIdentity, type AccessServiceToken, type Decision, type DecisionOutcome, type PolicyAction, reasonCode } from './decision.js';
import { explainDecision } from './explain-decision.js';

/** A request described rather than made: what `gatehouse policy test` and the console's tester ask. */
export interface PolicyTestInput {
  app: string;
  /** A directory user (groups from the database); absent with `serviceToken`, or for an anonymous request. */
  user?: { id: string; email: string; groups: readonly string[] };
  serviceToken?: AccessServiceToken;
  /** Session AMR (RFC 8176); a user without one is taken as signed in with a hardware key. */
  amr?: readonly string[];
  /** Minutes since the last security-key proof (default 0: just now). */
  authAgeMinutes?: number;
  ip: string;
  method: string;
  path: string;
  /** The time the request is made at (ms): time-window selectors read it. */
  now: number;
}

/** One policy of the app, judged alone against the request: why it decided, or why it did not. */
export interface PolicyTrace {
  /** `name` or `policies[i]`, as decisions carry it. */
  policy: string;
  action: PolicyAction;
  /** What this policy alone would answer: `deny` with its misses when it does not apply. */
  outcome: DecisionOutcome;
  /**
   * decided: this policy is the one that decided; not_reached: an earlier one decided first; applies:
   * it matches too; needs_step_up / needs_sign_in: it would apply after a fresh key touch / a sign-in;
   * does_not_apply: its reasons say which selector missed.
   */
  verdict: 'decided' | 'not_reached' | 'applies' | 'needs_step_up' | 'needs_sign_in' | 'does_not_apply';
  reasons: readonly string[];
}

export interface PolicyTestResult {
  decision: Decision;
  /** The words the person refused would read (the deny page's). */
  explanation: string;
  amr: readonly string[];
  /** Every policy of the app in order; empty when a global rule (blocked or invalid address) decided. */
  trace: PolicyTrace[];
}

const GLOBAL_REASONS = new Set(['ip_invalid', 'ip_blocked', 'app_unknown', 'path_invalid', 'evaluation_error']);

/**
 * Evaluates a described request with the proxy's own engine (compiled from the same options), then
 * each policy alone with the same engine, so the answer names the policy that decided and why every
 * other one did not. One evaluator: this never re-implements a selector. Returns undefined for an
 * app the options do not hold.
 */
export function testPolicy(options: PolicyEngineOptions, input: PolicyTestInput): PolicyTestResult | undefined {
  const appConfig = options.apps.find((app) => app.name === input.app);
  if (!appConfig) return undefined;
  const engine = compilePolicyEngine(options);
  const amr = input.user ? (input.amr && input.amr.length > 0 ? input.amr : ['hwk', 'mfa']) : [];
  const phishingResistant = amr.includes('hwk') || amr.includes('swk');
  const identity: AccessIdentity | undefined = input.user
    ? {
        userId: input.user.id,
        email: input.user.email,
        groups: input.user.groups,
        amr,
        ...(phishingResistant ? { phishingResistantAt: input.now - (input.authAgeMinutes ?? 0) * 60_000 } : {}),
      }
    : undefined;
  const request = {
    ip: input.ip,
    method: input.method,
    path: input.path,
    now: input.now,
    ...(identity ? { identity } : {}),
    ...(input.serviceToken ? { serviceToken: input.serviceToken } : {}),
  };
  const decision = engine.decide(input.app, request);
  const explanation = explainDecision(decision);
  if (GLOBAL_REASONS.has(reasonCode(decision.reasons[0] ?? '') ?? '')) return { decision, explanation, amr, trace: [] };

  let decidedSeen = false;
  const trace = appConfig.policies.map((policy, i): PolicyTrace => {
    const id = policy.name ?? `policies[${i}]`;
    // A step-up names the first pending allow, but the engine read on past it looking for a match.
    const reached = !decidedSeen || decision.outcome === 'step_up';
    const decided = !decidedSeen && decision.policy === id;
    if (decided) decidedSeen = true;
    // The policy as the only one of its app: the engine's own answer, misses included.
    const alone = compilePolicyEngine({ ...options, apps: [{ ...appConfig, policies: [policy] }] }).decide(input.app, request);
    const reasons = alone.reasons
      .filter((line) => reasonCode(line) !== 'no_policy_matched')
      .map((line) => line.replace('policies[0]', `policies[${i}]`));
    const verdict: PolicyTrace['verdict'] = decided
      ? 'decided'
      : !reached
        ? 'not_reached'
        : alone.outcome === 'step_up'
          ? 'needs_step_up'
          : alone.outcome === 'sign_in'
            ? 'needs_sign_in'
            : reasons.some((line) => reasonCode(line) === 'policy_matched')
              ? 'applies'
              : 'does_not_apply';
    return { policy: id, action: policy.action, outcome: alone.outcome, verdict, reasons };
  });
  return { decision, explanation, amr, trace };
}
