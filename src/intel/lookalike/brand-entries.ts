import { parse } from 'tldts';
import type { DnsProtectConfig } from '../../config/sections/dns-protect.js';
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
  const keywords = new Set([...config.keywords, ...config.generic_keywords, ...config.infrastructure_keywords]);
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
