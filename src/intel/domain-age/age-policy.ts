import type { DnsAgeAction, DnsAgeConfig } from '../../config/index.js';
import { describeElapsed } from './describe-elapsed.js';
import type { DomainAgeFacts } from './domain-age-service.js';

export interface VerdictReason {
  code: string;
  detail: string;
}

export interface AgeAssessment {
  /** `pending`: not known within the time budget. */
  state: 'young' | 'established' | 'unknown' | 'pending' | 'not_applicable';
  /** What the young/established judgement rests on. */
  basis?: 'rdap' | 'nrd_feed' | 'first_seen';
  registeredAt?: number;
  ageMs?: number;
  /** Set when the basis is `first_seen`: how long ago this gateway first saw the domain. */
  firstSeenAgoMs?: number;
  action: DnsAgeAction;
  reasons: VerdictReason[];
}

const DAY = 86_400_000;

type AgePolicy = Pick<DnsAgeConfig, 'young_days' | 'young_action' | 'on_unknown' | 'on_timeout' | 'first_seen'>;

function rdapReason(facts: DomainAgeFacts): VerdictReason | undefined {
  const { rdap } = facts;
  switch (rdap.status) {
    case 'not_found':
      return { code: 'rdap_not_found', detail: 'the registry has no record of this domain (404)' };
    case 'no_server':
      return { code: 'rdap_no_server', detail: 'no RDAP service is listed for this TLD' };
    case 'no_registration_date':
      return { code: 'rdap_no_registration_date', detail: 'the registry publishes no registration date' };
    case 'error':
      return { code: rdap.code, detail: rdap.detail };
    case 'pending':
      return { code: 'age_check_timeout', detail: 'no RDAP answer within the time budget; lookup continues' };
    default:
      return undefined;
  }
}

/**
 * Policy on the age of a domain (the 2022 phishing domain was 40 minutes old when the first SMS
 * went out): younger than `young_days` gets `young_action`; an unknown age gets `on_unknown` or,
 * when the budget ran out, `on_timeout`. RDAP decides when it gives a date; a newly-registered-domain
 * feed, then the gateway's own first-seen table, stand in when it does not.
 */
export function assessDomainAge(facts: DomainAgeFacts, policy: AgePolicy, now: number): AgeAssessment {
  const youngMs = policy.young_days * DAY;
  const { rdap } = facts;
  if (rdap.status === 'not_applicable') return { state: 'not_applicable', action: 'allow', reasons: [] };
  if (rdap.status === 'registered') {
    const ageMs = Math.max(0, now - rdap.registeredAt);
    const when = `registered ${new Date(rdap.registeredAt).toISOString()}, ${describeElapsed(ageMs)} ago`;
    const young = ageMs < youngMs;
    return {
      state: young ? 'young' : 'established',
      basis: 'rdap',
      registeredAt: rdap.registeredAt,
      ageMs,
      action: young ? policy.young_action : 'allow',
      reasons: [{ code: young ? 'young_domain' : 'domain_age', detail: when }],
    };
  }
  const reasons: VerdictReason[] = [];
  const why = rdapReason(facts);
  if (why) reasons.push(why);
  if (facts.nrd) {
    reasons.push({ code: 'nrd_feed_listed', detail: `listed as newly registered by ${facts.nrd.source}` });
    return { state: 'young', basis: 'nrd_feed', action: policy.young_action, reasons };
  }
  const seen = facts.firstSeen;
  if (seen) {
    const seenAgo = Math.max(0, now - seen.at);
    // Until the table has recorded for young_days, every domain looks "first seen recently".
    const warmedUp = now - seen.trackingSince >= youngMs;
    if (policy.first_seen.use_as_age && warmedUp && seenAgo < youngMs) {
      reasons.push({ code: 'first_seen_recently', detail: `first seen by this gateway ${describeElapsed(seenAgo)} ago` });
      return { state: 'young', basis: 'first_seen', firstSeenAgoMs: seenAgo, action: policy.young_action, reasons };
    }
  }
  if (rdap.status === 'pending') return { state: 'pending', action: policy.on_timeout, reasons };
  return { state: 'unknown', action: policy.on_unknown, reasons };
}
