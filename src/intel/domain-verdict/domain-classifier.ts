import type { DnsAgeConfig } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import {
  assessDomainAge,
  normalizeDomainName,
  registrableDomainOf,
  type AgeAssessment,
  type DomainAgeFacts,
  type DomainAgeService,
  type VerdictReason,
} from '../domain-age/index.js';
import { strictestAction, type DomainVerdict, type LookalikeChecker, type LookalikeResult, type VerdictAction } from './domain-verdict.js';
import { humanReasonFor } from './human-reason.js';

export interface DomainClassifierOptions {
  lookalike: LookalikeChecker;
  age: Pick<DomainAgeService, 'peek' | 'known' | 'lookup' | 'lookupWithinBudget'>;
  config: DnsAgeConfig;
  clock: Clock;
}

export interface DomainClassifier {
  /**
   * DNS hot path: lexical check plus the cached age, without waiting. Undefined when the answer
   * depends on an RDAP lookup not made yet (then call `classify`).
   */
  classifySync(name: string, requester?: string): DomainVerdict | undefined;
  /**
   * Full verdict; waits for the registration date at most `time_budget_ms`. Never rejects. `requester`
   * (a DNS client, see AgeLookupOptions) is charged for a lookup it starts; unset only for the operator.
   */
  classify(name: string, requester?: string): Promise<DomainVerdict>;
  /**
   * Lexical check plus an age already in memory; never starts a lookup nor records the name as seen.
   * For the block page, which anyone can reach with any Host header.
   */
  classifyKnown(name: string): DomainVerdict;
}

/** Reasons meaning the lookup never started (see rdap-lookup-outcome.ts). */
const NOT_STARTED = new Set(['rdap_overloaded', 'rdap_client_limit']);

const DAY = 86_400_000;

export function createDomainClassifier(options: DomainClassifierOptions): DomainClassifier {
  const { config, clock } = options;

  function checkLookalike(name: string): LookalikeResult | undefined {
    try {
      return options.lookalike.check(name);
    } catch {
      // The detector promises never to throw; if it does, the age rules still apply.
      return undefined;
    }
  }

  /**
   * The rules of the 2022 incident: a young lookalike is blocked whatever the settings; a lookalike
   * alone gets `lookalike_action` (default block); a young domain alone gets `young_action`
   * (default warn). Every rule can only make the verdict stricter.
   */
  function combine(name: string, lexical: LookalikeResult | undefined, facts: DomainAgeFacts | undefined): DomainVerdict {
    const assessment: AgeAssessment | undefined = facts ? assessDomainAge(facts, config, clock.now()) : undefined;
    const young = assessment?.state === 'young';
    // Below the detector's threshold a resemblance (a ccTLD swap such as acme.de) is common for
    // real brand sites; on a domain registered days ago it is the 2022 pattern.
    const resembles =
      lexical !== undefined && (lexical.lookalike || (young && lexical.score > 0 && lexical.score >= config.young_lookalike_min_score));
    const actions: VerdictAction[] = [];
    const reasons: VerdictReason[] = [];
    if (resembles) {
      if (lexical.lookalike) actions.push(config.lookalike_action);
      reasons.push({ code: 'lookalike', detail: `resembles ${lexical.brand ?? 'a protected brand'} (score ${lexical.score.toFixed(2)})` });
      reasons.push(...lexical.reasons.map(({ code, detail }) => ({ code, detail })));
    }
    if (assessment) {
      actions.push(assessment.action);
      reasons.push(...assessment.reasons);
      if (resembles && young) {
        actions.push('block');
        reasons.push({ code: 'young_lookalike', detail: 'a brand lookalike registered recently' });
      }
    }
    const verdict: DomainVerdict = {
      name,
      registrableDomain: facts?.registrableDomain ?? registrableDomainOf(name),
      action: strictestAction(actions),
      age: assessment ? { state: assessment.state, ...(assessment.basis ? { basis: assessment.basis } : {}) } : { state: 'not_checked' },
      reasons,
      humanReason: humanReasonFor(resembles ? lexical : undefined, assessment),
    };
    if (assessment?.ageMs !== undefined) verdict.ageDays = Math.round((assessment.ageMs / DAY) * 10_000) / 10_000;
    if (assessment?.registeredAt !== undefined) verdict.registeredAt = new Date(assessment.registeredAt).toISOString();
    if (assessment?.reasons.some((reason) => NOT_STARTED.has(reason.code))) verdict.provisional = true;
    if (resembles) {
      verdict.lookalike = {
        score: lexical.score,
        ...(lexical.brand !== undefined ? { brand: lexical.brand } : {}),
        reasons: lexical.reasons.map(({ code, detail }) => ({ code, detail })),
      };
    }
    return verdict;
  }

  function displayName(name: string): string {
    return normalizeDomainName(name) ?? String(name).toLowerCase().replace(/\.$/, '');
  }

  return {
    classifySync(name, requester) {
      const canonical = displayName(name);
      const lexical = checkLookalike(canonical);
      if (!config.enabled) return combine(canonical, lexical, undefined);
      const facts = options.age.peek(canonical);
      if (facts) return combine(canonical, lexical, facts);
      if (lexical?.lookalike && config.lookalike_action === 'block') {
        // Already a block whatever the age; look the age up anyway so the block page can say it.
        void options.age.lookup(canonical, requester === undefined ? {} : { requester });
        return combine(canonical, lexical, undefined);
      }
      return undefined;
    },
    async classify(name, requester) {
      const canonical = displayName(name);
      const lexical = checkLookalike(canonical);
      if (!config.enabled) return combine(canonical, lexical, undefined);
      const facts = await options.age.lookupWithinBudget(canonical, requester === undefined ? {} : { requester });
      return combine(canonical, lexical, facts);
    },
    classifyKnown(name) {
      const canonical = displayName(name);
      const lexical = checkLookalike(canonical);
      return combine(canonical, lexical, config.enabled ? options.age.known(canonical) : undefined);
    },
  };
}
