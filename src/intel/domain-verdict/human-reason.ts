import { describeElapsed, type AgeAssessment } from '../domain-age/index.js';
import type { LookalikeResult } from './domain-verdict.js';

/**
 * The sentence a person reads on the block or warning page. Plain words, no codes: the codes are in
 * `reasons` for logs and admins. `resemblance` is the lookalike result when it counted in the verdict.
 */
export function humanReasonFor(resemblance: LookalikeResult | undefined, age: AgeAssessment | undefined): string {
  const parts: string[] = [];
  if (resemblance) parts.push(`looks like ${resemblance.brand ?? 'a protected brand'}`);
  if (age) {
    switch (age.state) {
      case 'young':
      case 'established':
        if (age.basis === 'rdap' && age.ageMs !== undefined) parts.push(`registered ${describeElapsed(age.ageMs)} ago`);
        else if (age.basis === 'nrd_feed') parts.push('listed as a newly registered domain');
        else if (age.basis === 'first_seen') {
          parts.push(`registration date unknown; first seen on this network ${describeElapsed(age.firstSeenAgoMs ?? 0)} ago`);
        }
        break;
      case 'pending':
        parts.push('registration date could not be checked in time');
        break;
      case 'unknown':
        parts.push('registration date unknown');
        break;
      case 'not_applicable':
        break;
    }
  }
  return parts.length > 0 ? parts.join('; ') : 'no warning signs found';
}
