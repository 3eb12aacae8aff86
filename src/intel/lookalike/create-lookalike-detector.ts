import { getPublicSuffix } from 'tldts';
import { z } from 'zod';
import { type DnsProtectConfig, dnsProtectSchema } from '../../config/index.js';
import { InputError } from '../../lib/errors.js';
import { brandEntries } from './brand-entries.js';
import { LabelAnalyzer, type LabelFinding } from './label-analyzer.js';
import { FEATURE_COUNT, writeFeatures } from './lookalike-features.js';
import { type LookalikeModel, logOdds, modelScore, SHIPPED_MODEL, validateModel } from './lookalike-model.js';
import type { LookalikeDetector, LookalikeReason, LookalikeVerdict } from './lookalike-verdict.js';
import { normalizeQueryName } from './normalize-query-name.js';
import { RecentCache } from './recent-cache.js';
import { sharedSuffixLure } from './shared-suffix-lure.js';
import { subdomainFinding } from './subdomain-finding.js';
import { vettedSuffixMatcher } from './vetted-suffix.js';

/**
 * Private suffixes (github.io, zapto.org...) count: `acme-sso.github.io` is its own registrable domain.
 * The name is already validated and IP addresses are recognised before, so tldts is asked for the
 * suffix lookup alone (its cheapest call).
 */
const SUFFIX_OPTIONS = { allowPrivateDomains: true, extractHostname: false, detectIp: false, validateHostname: false } as const;
const ICANN_SUFFIX_OPTIONS = { ...SUFFIX_OPTIONS, allowPrivateDomains: false } as const;

/** Subdomain labels examined, nearest the registrable domain first (phishing links rarely nest deeper). */
const MAX_SUBDOMAIN_LABELS = 8;

/** Longer inputs are answered but not cached (a valid name has at most 253 characters; IDNs a few more). */
const MAX_CACHED_INPUT = 512;

const NO_REASONS: readonly LookalikeReason[] = Object.freeze([]);

/** The registrable label under a vetted suffix (dns.protect.vetted_suffixes): the institution's own name. */
const NOT_EXAMINED: RegistrableAnalysis = Object.freeze({ finding: undefined, isLure: false });

/** What the registrable label says, shared by every name under the same registrable domain. */
interface RegistrableAnalysis {
  readonly finding: LabelFinding | undefined;
  /** The label is made of lure words (`login-portal`): a bare brand in front of it is suspicious. */
  readonly isLure: boolean;
}

/**
 * Builds the brand-lookalike detector for the DNS hot path (ARCHITECTURE.md: dns policy reads an
 * in-memory snapshot). Everything costly — brand tries, typo variant sets, keyword tries — is built
 * here once; `check` does a suffix lookup and one skeleton and trie walk per label, and remembers
 * recent answers (by name, by registrable domain, by subdomain label) in bounded caches.
 *
 * Throws an InputError at start-up when the configuration does not validate (programmer misuse).
 */
export function createLookalikeDetector(protect: DnsProtectConfig, options: LookalikeDetectorOptions = {}): LookalikeDetector {
  const parsed = dnsProtectSchema.safeParse(protect);
  if (!parsed.success) {
    throw new InputError(`dns.protect: ${z.prettifyError(parsed.error)}`, 'invalid_config');
  }
  const config = parsed.data;
  const protectedDomains = new Set(config.domains);
  const isVettedSuffix = vettedSuffixMatcher(config.vetted_suffixes);
  const analyzer = new LabelAnalyzer(brandEntries(config), {
    keywords: config.keywords,
    genericKeywords: config.generic_keywords,
    infrastructureKeywords: config.infrastructure_keywords,
    lureSuffixes: config.lure_suffixes,
    minTypoLength: config.min_typo_length,
    countryTldSwapScore: config.country_tld_swap_score,
    workplaceAbbreviations: config.workplace_abbreviations,
    machineAbbreviations: config.machine_abbreviations,
    connectorWords: config.connector_words,
    legalEntityWords: config.legal_entity_words,
    domainSpellingTokens: config.domain_spelling_tokens,
    vanityCctlds: config.vanity_cctlds,
  });
  const threshold = config.threshold;
  // The fitted scorer (dns.protect.scorer: model) combines what the rules found; `rules` keeps their score.
  const model = options.model !== undefined ? options.model && validateModel(options.model) : config.scorer === 'model' ? SHIPPED_MODEL : null;
  const features = new Float64Array(FEATURE_COUNT);
  const onFeatures = options.onFeatures;
  const knownGood = options.knownGood;
  // DNS names repeat: whole verdicts by queried name; the registrable label's analysis by registrable
  // domain (`<hash>.cdn.example` queries share it); subdomain labels (`www`, `api`) by label.
  const verdicts = new RecentCache<string, LookalikeVerdict>(config.cache_entries);
  const registrables = new RecentCache<string, RegistrableAnalysis>(config.cache_entries);
  const subdomainLabels = new RecentCache<string, LabelFinding | null>(config.cache_entries);

  function isProtected(ascii: string): boolean {
    if (protectedDomains.has(ascii)) return true;
    for (let dot = ascii.indexOf('.'); dot >= 0; dot = ascii.indexOf('.', dot + 1)) {
      if (protectedDomains.has(ascii.slice(dot + 1))) return true;
    }
    return false;
  }

  function check(input: string): LookalikeVerdict {
    const cacheable = typeof input === 'string' && input.length <= MAX_CACHED_INPUT;
    if (cacheable) {
      const known = verdicts.get(input);
      if (known !== undefined) return known;
    }
    const result = Object.freeze(evaluate(input));
    if (cacheable) verdicts.set(input, result);
    return result;
  }

  function evaluate(input: string): LookalikeVerdict {
    const normalized = normalizeQueryName(input);
    if (!normalized.ok) {
      return verdict(normalized.name, 0, undefined, [{ code: 'invalid_name', detail: normalized.problem }]);
    }
    const { ascii, unicode } = normalized;
    if (isProtected(ascii)) {
      return verdict(unicode, 0, undefined, [{ code: 'protected_domain', detail: `${ascii} is a protected domain` }]);
    }
    // RFC 3696 §2: a top-level label is never all-numeric, so such a name is an IPv4 address.
    const suffix = isNumeric(ascii, ascii.lastIndexOf('.') + 1) ? null : getPublicSuffix(ascii, SUFFIX_OPTIONS);
    if (suffix === null || suffix.length >= ascii.length) return verdict(unicode, 0, undefined, NO_REASONS);

    // The same number of labels in both forms: locate the registrable label by counting dots.
    const suffixDot = nthDotFromEnd(unicode, countLabels(suffix));
    const labelStart = unicode.lastIndexOf('.', suffixDot - 1) + 1;
    const registrableKey = ascii.slice(nthDotFromEnd(ascii, countLabels(suffix) + 1) + 1);
    if (knownGood?.has(registrableKey) === true) {
      return verdict(unicode, 0, undefined, [{ code: 'known_good_domain', detail: `${registrableKey} is on the known-good list` }]);
    }
    let registrable = registrables.get(registrableKey);
    // Vetted only under the ICANN section of the Public Suffix List: its private section holds open
    // registries whose names look the same (`edu.eu.org`, free for anyone), which must stay examined.
    if (registrable === undefined && isVettedSuffix(suffix) && getPublicSuffix(ascii, ICANN_SUFFIX_OPTIONS) === suffix) {
      registrable = NOT_EXAMINED;
      registrables.set(registrableKey, registrable);
    } else if (registrable === undefined) {
      const label = unicode.slice(labelStart, suffixDot);
      let finding = analyzer.analyze(label, unicode.slice(suffixDot + 1));
      if (finding === undefined && analyzer.lastWasAllKeywords) finding = sharedSuffixLure(ascii, suffix, label);
      const isLure = analyzer.lastWasAllKeywords || finding?.reasons.some((r) => r.code === 'lure_keyword_suffix') === true;
      registrable = { finding: finding === undefined ? undefined : freezeFinding(finding), isLure };
      registrables.set(registrableKey, registrable);
    }

    const findings: LabelFinding[] = registrable.finding === undefined ? [] : [registrable.finding];
    let end = labelStart - 1;
    for (let k = 0; k < MAX_SUBDOMAIN_LABELS && end > 0; k++) {
      const start = unicode.lastIndexOf('.', end - 1) + 1;
      const label = unicode.slice(start, end);
      let finding = subdomainLabels.get(label);
      if (finding === undefined) {
        const analyzed = analyzer.analyze(label, undefined);
        finding = analyzed === undefined ? null : freezeFinding(analyzed);
        subdomainLabels.set(label, finding);
      }
      if (finding !== null) findings.push(subdomainFinding(finding, label, unicode, end, registrable.isLure));
      end = start - 1;
    }
    if (findings.length === 0) return verdict(unicode, 0, undefined, NO_REASONS);
    if (findings.length > 1) findings.sort((a, b) => b.score - a.score);
    const best = findings[0] as LabelFinding;
    const reasons = findings.length === 1 ? best.reasons : findings.flatMap((f) => f.reasons);
    if (model === null && onFeatures === undefined) return verdict(unicode, best.score, best.brand?.name, reasons);
    writeFeatures({ best, findingCount: findings.length, label: unicode.slice(labelStart, suffixDot), suffix }, features);
    onFeatures?.(features);
    const score = model === null ? best.score : modelScore(model, logOdds(model, features), threshold);
    return verdict(unicode, score, best.brand?.name, reasons);
  }

  function verdict(name: string, score: number, brand: string | undefined, reasons: readonly LookalikeReason[]): LookalikeVerdict {
    const rounded = Math.round(score * 1000) / 1000;
    const frozenReasons = Object.isFrozen(reasons) ? reasons : Object.freeze(reasons.map((r) => Object.freeze(r)));
    const base = { name, lookalike: rounded >= threshold && rounded > 0, score: rounded, reasons: frozenReasons };
    return brand === undefined ? base : { ...base, brand };
  }

  return { check };
}

export interface LookalikeDetectorOptions {
  /** Scorer weights: the shipped model by default when `scorer` is `model`; null for the rules' score. */
  readonly model?: LookalikeModel | null;
  /** Receives the feature vector of every name with a finding (offline fitting; pass cache_entries 0). */
  readonly onFeatures?: (features: Float64Array) => void;
  /** Registrable domains never flagged (dns.protect.known_good_file, loaded by loadKnownGoodDomains). */
  readonly knownGood?: ReadonlySet<string>;
}

/** Findings are cached and shared between verdicts: frozen so that no caller can change another's. */
function freezeFinding(finding: LabelFinding): LabelFinding {
  return Object.freeze({ ...finding, reasons: Object.freeze(finding.reasons.map((r) => Object.freeze(r))) });
}

function isNumeric(text: string, from: number): boolean {
  for (let k = from; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
  }
  return from < text.length;
}

/** Index of the `n`th dot from the end of `name` (n >= 1), or -1 when it has fewer dots. */
function nthDotFromEnd(name: string, n: number): number {
  let at = name.length;
  for (let k = 0; k < n && at >= 0; k++) at = name.lastIndexOf('.', at - 1);
  return at;
}

function countLabels(name: string): number {
  let count = 1;
  for (let k = name.indexOf('.'); k >= 0; k = name.indexOf('.', k + 1)) count++;
  return count;
}
