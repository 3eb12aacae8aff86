/** The values the policy engine takes and returns (STYLE.md habit 5: decisions are values). */

export type PolicyAction = 'allow' | 'block' | 'bypass';

/**
 * - allow: a signed-in user, or a verified service token named by a `service_token` or
 *   `service_token_tag` selector, matched an allow policy; bypass: served without identity;
 * - deny: blocked (global IP rule, a block policy, or default deny when nothing matched);
 * - sign_in: no identity yet and a policy needing one could apply: send to the portal;
 * - step_up: an allow policy would match if the user touched their key again (auth_age).
 */
export type DecisionOutcome = 'allow' | 'deny' | 'step_up' | 'bypass' | 'sign_in';

export interface Decision {
  readonly allow: boolean;
  /** The action of the deciding policy; `block` for global IP rules and default deny. */
  readonly action: PolicyAction;
  /** The deciding policy: its name, or `policies[i]` when unnamed. Absent for global rules and default deny. */
  readonly policy?: string;
  readonly outcome: DecisionOutcome;
  /** Stable `code: detail` lines for the audit log; see REASON_CODES. Never shown to the client as is. */
  readonly reasons: readonly string[];
}

/** The first word of every reason line, before the colon. */
export const REASON_CODES = [
  'ip_invalid',
  'ip_blocked',
  'path_invalid',
  'app_unknown',
  'policy_matched',
  'no_policy_matched',
  'not_matched',
  'excluded',
  'sign_in_required',
  'step_up_required',
  'evaluation_error',
  'reasons_truncated',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export function reasonCode(reason: string): ReasonCode | undefined {
  const code = reason.slice(0, reason.indexOf(':'));
  return (REASON_CODES as readonly string[]).includes(code) ? (code as ReasonCode) : undefined;
}

export interface AccessIdentity {
  readonly userId: string;
  readonly email: string;
  readonly groups: readonly string[];
  /** RFC 8176 authentication method references of the session (hwk, swk, otp, pwd, mfa...). */
  readonly amr: readonly string[];
  /** Time (ms since epoch) of the last phishing-resistant proof (a WebAuthn assertion). */
  readonly phishingResistantAt?: number;
}

/**
 * A machine's credential, already verified by the gateway for this app (never read from the client as
 * is). It satisfies only the `service_token` and `service_token_tag` selectors, never an identity one.
 */
export interface AccessServiceToken {
  readonly name: string;
  readonly tags: readonly string[];
}

export interface AccessRequest {
  /** Client address as the proxy determined it (after trusted_proxies), IPv4 or IPv6 text. */
  readonly ip: string;
  readonly method: string;
  /** Request target path, possibly with a query; normalized (and case-folded unless the app compares case) by the engine before matching. */
  readonly path: string;
  /** Request time in ms since the epoch, from the injected clock. */
  readonly now: number;
  readonly identity?: AccessIdentity;
  /** Set instead of `identity` for a request authenticated by a service token. */
  readonly serviceToken?: AccessServiceToken;
}

/** Takes ownership of `reasons` (every caller builds a fresh array): it is frozen, not copied. */
export function decisionOf(
  outcome: DecisionOutcome,
  action: PolicyAction,
  policy: string | undefined,
  reasons: string[],
): Decision {
  const allow = outcome === 'allow' || outcome === 'bypass';
  const frozen: readonly string[] = Object.freeze(reasons);
  const decision: Decision = policy === undefined
    ? { allow, action, outcome, reasons: frozen }
    : { allow, action, policy, outcome, reasons: frozen };
  return Object.freeze(decision);
}
