import { parse } from 'tldts';
import type { DnsProtectConfig } from '../../config/index.js';
import { InputError } from '../../lib/errors.js';
import type { BrandEntry } from './label-analyzer.js';

/** Private suffixes (github.io, zapto.org...) count: `acme-sso.github.io` is its own registrable domain. */
export const TLD_OPTIONS = { allowPrivateDomains: true, extractHostname: false, detectIp: true } as const;

/**
 * The brands to defend: configured brands first (their spelling is shown), then the first label of
 * each protected domain. Throws an InputError (start-up misuse) for a protected domain that has no
 * registrable part under a public suffix.
 */
export function brandEntries(config: DnsProtectConfig): BrandEntry[] {
  const suffixesByKey = new Map<string, string[]>();
  const domainsByKey = new Map<string, string[]>();
  const labelByKey = new Map<string, string>();
  const labels: string[] = [];
  for (const domain of config.domains) {
    const parsed = parse(domain, TLD_OPTIONS);
    if (parsed.domainWithoutSuffix === null || parsed.publicSuffix === null) {
      throw new InputError(`dns.protect.domains: "${domain}" has no registrable part under a public suffix`, 'invalid_config');
    }
    const key = parsed.domainWithoutSuffix.replace(/-/g, '');
    labelByKey.set(key, labelByKey.get(key) ?? parsed.domainWithoutSuffix);
    suffixesByKey.set(key, [...(suffixesByKey.get(key) ?? []), parsed.publicSuffix]);
    domainsByKey.set(key, [...(domainsByKey.get(key) ?? []), `${parsed.domainWithoutSuffix}.${parsed.publicSuffix}`]);
    labels.push(parsed.domainWithoutSuffix);
  }
  // `wal-mart.com` beside `walmart.com`: every hyphenated spelling of a key is the brand's written form.
  const hyphenatedByKey = new Map<string, string[]>();
  for (const name of [...config.brands, ...labels]) {
    const key = name.replace(/-/g, '');
    const known = hyphenatedByKey.get(key) ?? [];
    if (name.includes('-') && !known.includes(name)) hyphenatedByKey.set(key, [...known, name]);
  }
  // `outlook.com` is a real domain to keep unflagged, but its label is a lure word, not a brand.
  const keywords = new Set([...config.keywords, ...config.generic_keywords, ...config.infrastructure_keywords]);
  const entries = new Map<string, BrandEntry>();
  const add = (name: string, compounds: boolean): void => {
    const key = name.replace(/-/g, '');
    if (!entries.has(key)) {
      const hyphenated = hyphenatedByKey.get(key) ?? [];
      const protectedSuffixes = suffixesByKey.get(key) ?? [];
      const protectedDomains = [...new Set(domainsByKey.get(key) ?? [])];
      entries.set(key, { name, key, protectedSuffixes, protectedDomains, compounds, partial: false, hyphenated });
    }
  };
  config.brands.forEach((brand) => add(brand, true));
  labelByKey.forEach((label, key) => {
    if (!keywords.has(key)) add(label, key.length >= config.min_typo_length);
  });
  const brands = [...entries.values()];
  for (const brand of brands) {
    const part = distinctivePart(brand.key, config);
    if (part !== undefined && !entries.has(part) && !keywords.has(part)) {
      entries.set(part, { name: brand.name, key: part, protectedSuffixes: [], protectedDomains: [], compounds: true, partial: true, hyphenated: [] });
    }
  }
  return [...entries.values()];
}

/**
 * `uscellular` → `cellular`, `alticeusa` → `altice`, `mongodb` → `mongo`: a brand made of a scope word
 * (either end) or a name suffix word (the end) and a distinctive part, which phishing names use alone
 * (`cellularhr.com`, `mongosso.com`). The part must be long enough to be matched inside labels at all.
 * Other generic words are not split off: `infocision` is not `cision`, another company.
 */
function distinctivePart(key: string, config: DnsProtectConfig): string | undefined {
  const minLength = config.min_typo_length;
  for (const word of config.scope_words) {
    if (key.length - word.length < minLength) continue;
    if (key.startsWith(word)) return key.slice(word.length);
    if (key.endsWith(word)) return key.slice(0, key.length - word.length);
  }
  for (const word of config.name_suffix_words) {
    if (key.length - word.length >= minLength && key.endsWith(word)) return key.slice(0, key.length - word.length);
  }
  return undefined;
}
