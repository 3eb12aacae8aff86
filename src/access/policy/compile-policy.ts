import type { PolicyConfig } from '../../config/index.js';
import { type CompiledSelector, type Tri, NO, PENDING, YES, compileSelector } from './compile-selector.js';
import { type Decision, type PolicyAction, decisionOf } from './decision.js';
import type { EvalContext } from './eval-context.js';
import type { ZonedWeekClocks } from '../../lib/zoned-week-clock.js';

type Test = (ctx: EvalContext) => Tri;
type ListName = 'include' | 'require' | 'exclude';

export interface CompiledPolicy {
  readonly index: number;
  /** `name` or `policies[i]`: what `Decision.policy` carries. */
  readonly id: string;
  readonly action: PolicyAction;
  /** YES: decides now; PENDING: would decide after sign-in / step-up; NO: does not apply. */
  readonly match: (ctx: EvalContext) => Tri;
  /** Prebuilt, frozen: the hot path returns these without allocating. */
  readonly matchedDecision: Decision;
  readonly signInDecision: Decision;
  /**
   * Audit lines for why this policy did not match (slow path), from the selector results the
   * program computed (`selectorResults` in policy-program.ts, config order).
   */
  explainMiss(ctx: EvalContext, out: string[], results: ArrayLike<number>, included: boolean): void;
  /** Audit lines naming the stale `auth_age` selectors that a step-up would satisfy (slow path). */
  explainStepUp(ctx: EvalContext, out: string[]): void;
}

export function compilePolicy(config: PolicyConfig, index: number, clocks: ZonedWeekClocks): CompiledPolicy {
  if (config.exclude.some((s) => s.auth_age !== undefined)) {
    // Programmer misuse (the schema refuses it): PENDING under a negation would invert step-up.
    throw new Error(`compilePolicy: policies[${index}] has auth_age under exclude`);
  }
  const id = config.name ?? `policies[${index}]`;
  const label = config.name === undefined ? `policies[${index}]` : `policies[${index}] "${config.name}"`;
  const lists: Record<ListName, CompiledSelector[]> = {
    include: config.include.map((s) => compileSelector(s, clocks)),
    require: config.require.map((s) => compileSelector(s, clocks)),
    exclude: config.exclude.map((s) => compileSelector(s, clocks)),
  };
  const include: Test[] = lists.include.map((s) => s.test);
  const require: Test[] = lists.require.map((s) => s.test);
  const exclude: Test[] = lists.exclude.map((s) => s.test);
  // An allow always needs a user: anonymous access is what `bypass` is for, and says so.
  const needsIdentity = config.action === 'allow';
  // ...or a service token that one of its own include/require `service_token*` selectors names: an
  // allow written for people (`everyone`, an IP range) never lets a machine in by accident.
  const tokenTests: Test[] = [...lists.include, ...lists.require].filter((s) => s.kind === 'service_token' || s.kind === 'service_token_tag').map((s) => s.test);
  const tokenNamed = (ctx: EvalContext): boolean => {
    for (let i = 0; i < tokenTests.length; i++) if (tokenTests[i]!(ctx) === YES) return true;
    return false;
  };

  function match(ctx: EvalContext): Tri {
    let result: Tri = NO;
    for (let i = 0; i < include.length; i++) {
      const t = include[i]!(ctx);
      if (t === YES) {
        result = YES;
        break;
      }
      if (t === PENDING) result = PENDING;
    }
    if (result === NO) return NO;
    for (let i = 0; i < require.length; i++) {
      const t = require[i]!(ctx);
      if (t === NO) return NO;
      if (t === PENDING) result = PENDING;
    }
    for (let i = 0; i < exclude.length; i++) {
      const t = exclude[i]!(ctx);
      if (t === YES) return NO;
      if (t === PENDING) result = PENDING;
    }
    if (needsIdentity && ctx.identity === undefined) {
      if (ctx.serviceToken === undefined) return PENDING;
      return result === YES && tokenNamed(ctx) ? YES : NO;
    }
    return result;
  }

  const matchedOutcome = config.action === 'allow' ? 'allow' : config.action === 'bypass' ? 'bypass' : 'deny';
  const matchedDecision = decisionOf(matchedOutcome, config.action, id, [`policy_matched: ${label} action ${config.action}`]);
  const signInDecision = decisionOf('sign_in', config.action, id, [`sign_in_required: ${label} (${config.action}) needs a signed-in user`]);

  // Line heads ("not_matched: policies[2] \"p\" require[0] group: "), written on first use: only
  // policies that ever explain a deny or step-up pay for them.
  const missHeads: Record<ListName, (string | undefined)[]> = { include: [], require: [], exclude: [] };
  const stepUpHeads: Record<ListName, (string | undefined)[]> = { include: [], require: [], exclude: [] };
  function line(heads: Record<ListName, (string | undefined)[]>, code: string, list: ListName, i: number, ctx: EvalContext, result: Tri): string {
    const selector = lists[list][i]!;
    let head = heads[list][i];
    if (head === undefined) heads[list][i] = head = `${code}: ${label} ${list}[${i}] ${selector.kind}: `;
    return head + selector.describe(ctx, result);
  }

  let tokenMissLine: string | undefined;
  function explainMiss(ctx: EvalContext, out: string[], results: ArrayLike<number>, included: boolean): void {
    const nInclude = lists.include.length;
    const nRequire = lists.require.length;
    // A policy whose include missed does not concern this request: its require list is noise.
    if (!included) {
      for (let i = 0; i < nInclude; i++) out.push(line(missHeads, 'not_matched', 'include', i, ctx, results[i] as Tri));
      return;
    }
    for (let i = 0; i < nRequire; i++) {
      const r = results[nInclude + i] as Tri;
      if (r !== YES) out.push(line(missHeads, 'not_matched', 'require', i, ctx, r));
    }
    const before = out.length;
    for (let i = 0; i < lists.exclude.length; i++) {
      const r = results[nInclude + nRequire + i] as Tri;
      if (r !== NO) out.push(line(missHeads, 'excluded', 'exclude', i, ctx, r));
    }
    // Every selector passed, yet a machine was not let in: say why, or the deny would name no cause.
    if (needsIdentity && out.length === before && ctx.identity === undefined && ctx.serviceToken !== undefined && !requireMissed(results, nInclude, nRequire)) {
      out.push((tokenMissLine ??= `not_matched: ${label} (allow) needs a signed-in user, or a service_token or service_token_tag selector naming the token`));
    }
  }

  function requireMissed(results: ArrayLike<number>, nInclude: number, nRequire: number): boolean {
    for (let i = 0; i < nRequire; i++) if (results[nInclude + i] !== YES) return true;
    return false;
  }

  function explainStepUp(ctx: EvalContext, out: string[]): void {
    for (const list of ['include', 'require'] as const) {
      const selectors = lists[list];
      for (let i = 0; i < selectors.length; i++) {
        const s = selectors[i]!;
        if (s.kind !== 'auth_age') continue;
        const r = s.test(ctx);
        if (r === PENDING) out.push(line(stepUpHeads, 'step_up_required', list, i, ctx, r));
      }
    }
  }

  return { index, id, action: config.action, match, matchedDecision, signInDecision, explainMiss, explainStepUp };
}
