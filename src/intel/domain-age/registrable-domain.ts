import { domainToASCII } from 'node:url';
import { parse } from 'tldts';

/** RFC 1035 §2.3.4 limits; LDH labels in A-label form (RFC 5890 §2.3.2.1). */
const MAX_NAME_LENGTH = 253;
const LDH_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
// Service labels such as `_dmarc` (RFC 8552) appear in queries but never in a registrable domain.
// One expression for the whole name (two labels or more): this runs on every DNS query.
const QUERY_NAME = /^(?:(?:_?[a-z0-9-]{1,62}|[a-z0-9-]{63})\.)+(?:_?[a-z0-9-]{1,62}|[a-z0-9-]{63})$/;

/**
 * Canonical A-label form of a queried name: lower case, no trailing dot, IDNs converted with UTS #46.
 * Returns undefined for anything that is not a syntactically valid host name (the name is attacker
 * controlled and ends up in an RDAP URL path, so nothing else may pass).
 */
export function normalizeDomainName(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH + 1) return undefined;
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const ascii = /^[\x00-\x7f]*$/.test(trimmed) ? trimmed.toLowerCase() : domainToASCII(trimmed);
  if (!ascii || ascii.length > MAX_NAME_LENGTH) return undefined;
  return QUERY_NAME.test(ascii) ? ascii : undefined;
}

/**
 * The registrable domain (public suffix + one label) that a registry's RDAP server knows about:
 * `a.b.evil.co.uk` -> `evil.co.uk`. Only ICANN suffixes count: `x.github.io` is registered as
 * `github.io`, so private PSL entries must not split it.
 */
export function registrableDomainOf(name: string): string | undefined {
  const normalized = normalizeDomainName(name);
  if (!normalized) return undefined;
  const parsed = parse(normalized, { allowPrivateDomains: false, extractHostname: false });
  if (parsed.isIp || !parsed.domain) return undefined;
  if (!parsed.domain.split('.').every((label) => LDH_LABEL.test(label))) return undefined;
  return parsed.domain;
}
