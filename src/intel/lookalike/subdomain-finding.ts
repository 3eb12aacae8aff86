import type { LabelFinding } from './label-analyzer.js';
import type { LookalikeReason } from './lookalike-verdict.js';

const SUBDOMAIN_SCORE = {
  /** `acme.com.login-portal.net`: a protected domain spelled out in front of another domain. */
  protectedDomainSpelledOut: 0.9,
  /** `acme.login-portal.net`: the bare brand in front of a domain made of lure words. */
  bareBrandBeforeLure: 0.8,
  /** `acme.zendesk.com`: how SaaS tenants are named, so weak evidence on its own. */
  bareBrand: 0.5,
  /** A compound, typo or look-alike label in a subdomain scores this much below the same label registered. */
  penalty: 0.05,
} as const;

/**
 * Rescores the finding of a subdomain label of another registrable domain: `name` is the whole
 * queried name and the label ends at `labelEnd` (the index of the dot after it).
 */
export function subdomainFinding(finding: LabelFinding, label: string, name: string, labelEnd: number, registrableIsLure: boolean): LabelFinding {
  const brand = finding.brand;
  let score: number;
  let detail: string;
  const after = labelEnd + 1;
  const spelledOut = brand?.protectedSuffixes.find(
    (s) => name.startsWith(s, after) && (after + s.length === name.length || name.charCodeAt(after + s.length) === 0x2e),
  );
  if (finding.whole && spelledOut !== undefined && brand !== undefined) {
    score = SUBDOMAIN_SCORE.protectedDomainSpelledOut;
    detail = `the protected domain ${brand.key}.${spelledOut} is spelled out in front of another domain`;
  } else if (finding.whole && brand !== undefined && finding.reasons.every((r) => r.code === 'brand_exact' || r.code === 'tld_swap')) {
    score = registrableIsLure ? SUBDOMAIN_SCORE.bareBrandBeforeLure : SUBDOMAIN_SCORE.bareBrand;
    detail = `subdomain label "${label}" is the brand "${brand.name}"${registrableIsLure ? ' in front of a lure domain' : ''}`;
  } else {
    score = finding.score - SUBDOMAIN_SCORE.penalty;
    detail = `subdomain label "${label}" imitates ${brand === undefined ? 'a sign-in page' : `the brand "${brand.name}"`}`;
  }
  const reasons: LookalikeReason[] = [
    { code: 'brand_in_subdomain', detail },
    ...finding.reasons.filter((r) => r.code !== 'brand_exact' && r.code !== 'tld_swap'),
  ];
  return { score, brand, reasons, whole: false };
}
