import type { DnsAgeAction } from '../../config/index.js';
import type { AgeAssessment, VerdictReason } from '../domain-age/index.js';

export type VerdictAction = DnsAgeAction;

/**
 * What the lexical lookalike detector (src/intel/lookalike) answers; declared structurally here so
 * the verdict depends on the shape, not on that module's internals.
 */
export interface LookalikeResult {
  readonly name: string;
  readonly lookalike: boolean;
  readonly score: number;
  readonly brand?: string;
  readonly reasons: readonly VerdictReason[];
}

export interface LookalikeChecker {
  check(name: string): LookalikeResult;
}

/** One decision about a queried name, as a value (STYLE.md habit 5): logged, shown, tested. */
export interface DomainVerdict {
  /** The queried name, lower-case A-label form without the trailing dot. */
  name: string;
  registrableDomain: string | undefined;
  action: VerdictAction;
  /** Age in days (fractional) when the registration date is known. */
  ageDays?: number;
  /** RFC 3339 registration date, when known. */
  registeredAt?: string;
  /** How the age was judged; `pending` means the time budget ran out. */
  age: { state: AgeAssessment['state'] | 'not_checked'; basis?: AgeAssessment['basis'] };
  lookalike?: { score: number; brand?: string; reasons: VerdictReason[] };
  reasons: VerdictReason[];
  /** Plain words for the block page: "looks like acme; registered 37 minutes ago". */
  humanReason: string;
  /**
   * The registration-date lookup could not start (the asking client's budget or the shared capacity
   * was spent): decided without it, for this query only. Reused for other clients, it would let one
   * client's flood decide everyone's answer for the name.
   */
  provisional?: true;
}

const SEVERITY: Record<VerdictAction, number> = { allow: 0, warn: 1, block: 2 };

/** The strictest of several actions: each rule can only make a verdict stricter. */
export function strictestAction(actions: readonly VerdictAction[]): VerdictAction {
  return actions.reduce<VerdictAction>((worst, next) => (SEVERITY[next] > SEVERITY[worst] ? next : worst), 'allow');
}
