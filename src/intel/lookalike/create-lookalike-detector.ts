import { parse } from 'tldts';
import { z } from 'zod';
import { type DnsProtectConfig, dnsProtectSchema } from '../../config/sections/dns-protect.js';
import { InputError } from '../../lib/errors.js';
import { type BrandEntry, LabelAnalyzer, type LabelFinding } from './label-analyzer.js';
import type { LookalikeDetector, LookalikeReason, LookalikeVerdict } from './lookalike-verdict.js';
import { normalizeQueryName } from './normalize-query-name.js';

/** Private suffixes (github.io, zapto.org...) count: `acme-sso.github.io` is its own registrable domain. */
const TLD_OPTIONS = { allowPrivateDomains: true, extractHostname: false, detectIp: true } as const;

/** Subdomain labels examined, nearest the registrable domain first (phishing links rarely nest deeper). */
const MAX_SUBDOMAIN_LABELS = 8;

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
 * Builds the brand-lookalike detector for the DNS hot path (ARCHITECTURE.md: dns policy reads an
 * in-memory snapshot). Everything costly — brand tries, typo variant sets, keyword tries — is built
 * here once; `check` does a suffix lookup, one skeleton per label and array-indexed matching.
 *
 * Throws an InputError at start-up when the configuration does not validate (programmer misuse).
 */
export function createLookalikeDetector(protect: DnsProtectConfig): LookalikeDetector {
  const parsed = dnsProtectSchema.safeParse(protect);
  if (!parsed.success) {
    throw new InputError(`dns.protect: ${z.prettifyError(parsed.error)}`, 'invalid_config');
  }
  const config = parsed.data;
  const protectedDomains = new Set(config.domains);
  const brands = brandEntries(config);
  const analyzer = new LabelAnalyzer(brands, {
    keywords: config.keywords,
    infrastructureKeywords: config.infrastructure_keywords,
    lureSuffixes: config.lure_suffixes,
    minTypoLength: config.min_typo_length,
    countryTldSwapScore: config.country_tld_swap_score,
  });
  const threshold = config.threshold;

  function isProtected(ascii: string): boolean {
    if (protectedDomains.has(ascii)) return true;
    for (let dot = ascii.indexOf('.'); dot >= 0; dot = ascii.indexOf('.', dot + 1)) {
      if (protectedDomains.has(ascii.slice(dot + 1))) return true;
    }
    return false;
  }

  function check(input: string): LookalikeVerdict {
    const normalized = normalizeQueryName(input);
    if (!normalized.ok) {
      return verdict(normalized.name, 0, undefined, [{ code: 'invalid_name', detail: normalized.problem }]);
    }
    const { ascii, unicode } = normalized;
    if (isProtected(ascii)) {
      return verdict(unicode, 0, undefined, [{ code: 'protected_domain', detail: `${ascii} is a protected domain` }]);
    }
    const domain = parse(ascii, TLD_OPTIONS);
    if (domain.isIp === true || domain.domain === null || domain.publicSuffix === null) return verdict(unicode, 0, undefined, []);

    const labels = unicode.split('.');
    const suffixLabels = countLabels(domain.publicSuffix);
    const registrableIndex = labels.length - suffixLabels - 1;
    const suffix = labels.slice(registrableIndex + 1).join('.');
    const findings: LabelFinding[] = [];
    const registrable = analyzer.analyze(labels[registrableIndex] ?? '', suffix);
    const registrableIsLure = analyzer.lastWasAllKeywords || registrable?.reasons.some((r) => r.code === 'lure_keyword_suffix') === true;
    if (registrable !== undefined) findings.push(registrable);

    const lowest = Math.max(0, registrableIndex - MAX_SUBDOMAIN_LABELS);
    for (let k = registrableIndex - 1; k >= lowest; k--) {
      const label = labels[k] ?? '';
      const finding = analyzer.analyze(label, undefined);
      if (finding === undefined) continue;
      findings.push(subdomainFinding(finding, label, labels, k, registrableIsLure));
    }
    if (findings.length === 0) return verdict(unicode, 0, undefined, []);
    findings.sort((a, b) => b.score - a.score);
    const best = findings[0] as LabelFinding;
    const reasons = findings.flatMap((f) => f.reasons);
    return verdict(unicode, best.score, best.brand?.name, reasons);
  }

  function verdict(name: string, score: number, brand: string | undefined, reasons: LookalikeReason[]): LookalikeVerdict {
    const rounded = Math.round(score * 1000) / 1000;
    const base = { name, lookalike: rounded >= threshold && rounded > 0, score: rounded, reasons };
    return brand === undefined ? base : { ...base, brand };
  }

  return { check };
}

function subdomainFinding(
  finding: LabelFinding,
  label: string,
  labels: readonly string[],
  index: number,
  registrableIsLure: boolean,
): LabelFinding {
  const brand = finding.brand;
  let score: number;
  let detail: string;
  const spelledOut = brand?.protectedSuffixes.find((s) => labels.slice(index + 1, index + 1 + countLabels(s)).join('.') === s);
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

function countLabels(name: string): number {
  let count = 1;
  for (let k = name.indexOf('.'); k >= 0; k = name.indexOf('.', k + 1)) count++;
  return count;
}

/** Configured brands first (their spelling is shown), then the first label of each protected domain. */
function brandEntries(config: DnsProtectConfig): BrandEntry[] {
  const suffixesByKey = new Map<string, string[]>();
  const labelByKey = new Map<string, string>();
  for (const domain of config.domains) {
    const parsed = parse(domain, TLD_OPTIONS);
    if (parsed.domainWithoutSuffix === null || parsed.publicSuffix === null) {
      throw new InputError(`dns.protect.domains: "${domain}" has no registrable part under a public suffix`, 'invalid_config');
    }
    const key = parsed.domainWithoutSuffix.replace(/-/g, '');
    labelByKey.set(key, labelByKey.get(key) ?? parsed.domainWithoutSuffix);
    suffixesByKey.set(key, [...(suffixesByKey.get(key) ?? []), parsed.publicSuffix]);
  }
  // `outlook.com` is a real domain to keep unflagged, but its label is a lure word, not a brand.
  const keywords = new Set([...config.keywords, ...config.infrastructure_keywords]);
  const entries = new Map<string, BrandEntry>();
  const add = (name: string, compounds: boolean): void => {
    const key = name.replace(/-/g, '');
    if (!entries.has(key)) entries.set(key, { name, key, protectedSuffixes: suffixesByKey.get(key) ?? [], compounds });
  };
  config.brands.forEach((brand) => add(brand, true));
  labelByKey.forEach((label, key) => {
    if (!keywords.has(key)) add(label, key.length >= config.min_typo_length);
  });
  return [...entries.values()];
}
