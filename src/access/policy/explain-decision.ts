import { type Decision, reasonCode } from './decision.js';

/**
 * Human text for a decision: the CLI's `gatehouse policy test` and the portal's deny pages.
 * It names what the user can act on (a key, a group, the network) and never repeats the audit
 * detail (emails, addresses, policy names stay in the log).
 */

const MISS_LINE = /^(not_matched|excluded): .* (include|require|exclude)\[\d+\] ([a-z_]+): (.*)$/;

/** When several policies missed, the message speaks about the most actionable selector first. */
const KIND_ORDER = ['auth_method', 'group', 'email', 'email_domain', 'ip', 'time', 'method', 'path'] as const;

const BY_KIND: Record<(typeof KIND_ORDER)[number], string> = {
  auth_method: 'This app needs a different sign-in method.',
  group: 'You are not in a group that may use this app.',
  email: 'Your account may not use this app.',
  email_domain: 'Your account may not use this app.',
  ip: 'This app cannot be reached from your network.',
  time: 'This app is not available at this time.',
  method: 'This kind of request is not allowed here.',
  path: 'This page is not available to you.',
};

/**
 * RFC 8176 words as the portal uses them: a security key is hardware (hwk), a passkey is software
 * (swk). A passkey holder refused by an hwk-only app must not read "needs a security key" and think
 * the passkey is one.
 */
export const NEEDS_HARDWARE_KEY = 'This app needs a hardware security key (a USB or NFC key). A passkey is not enough here.';
export const NEEDS_KEY_OR_PASSKEY = 'This app needs a sign-in with a security key or passkey. A password and code are not enough here.';

function keyNeeded(missText: string): string | undefined {
  const wanted = new Set((/ lacks (\S+)$/.exec(missText)?.[1] ?? '').split('|'));
  if (wanted.has('phishing_resistant') || (wanted.has('hwk') && wanted.has('swk'))) return NEEDS_KEY_OR_PASSKEY;
  if (wanted.has('hwk')) return NEEDS_HARDWARE_KEY;
  if (wanted.has('swk')) return 'This app needs a passkey.';
  return undefined;
}

function explainMisses(reasons: readonly string[]): string {
  const misses = reasons.map((r) => MISS_LINE.exec(r)).filter((m): m is RegExpExecArray => m !== null);
  if (misses.some((m) => m[1] === 'excluded')) return 'Your account is excluded from this app.';
  // Misses under require come from policies whose include did match the user: they say what is
  // missing for an app the user is meant to reach, so they speak before include misses.
  for (const tier of [misses.filter((m) => m[2] === 'require'), misses]) {
    for (const kind of KIND_ORDER) {
      const miss = tier.find((m) => m[3] === kind);
      if (miss === undefined) continue;
      if (kind === 'auth_method') {
        const key = keyNeeded(miss[4]!);
        if (key) return key;
      }
      return BY_KIND[kind];
    }
  }
  return 'You do not have access to this app.';
}

export function explainDecision(decision: Decision): string {
  switch (decision.outcome) {
    case 'allow':
      return 'Access allowed.';
    case 'bypass':
      return 'This page is open without sign-in.';
    case 'sign_in':
      return 'Sign in to continue.';
    case 'step_up':
      return 'Touch your key again: this app needs a recent confirmation with your security key or passkey.';
    case 'deny':
      break;
  }
  switch (reasonCode(decision.reasons[0] ?? '')) {
    case 'ip_blocked':
      return 'Your network address is blocked.';
    case 'ip_invalid':
      return 'Your network address could not be read.';
    case 'path_invalid':
      return 'This address is not valid.';
    case 'app_unknown':
      return 'There is no app at this address.';
    case 'evaluation_error':
      return 'Access could not be checked. Try again, or contact your administrator.';
    case 'policy_matched':
      return 'Access to this app is blocked by policy.';
    default:
      return explainMisses(decision.reasons);
  }
}
