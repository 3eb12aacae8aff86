import net from 'node:net';
import { parseCidr } from '../lib/ip/ip-address.js';
import { normaliseDomainName } from '../dns/index.js';
import { normaliseEmail } from '../identity/index.js';
import { InputError } from '../lib/errors.js';

/** What an incident names: the attacker's infrastructure and the people known to be affected. */
export interface Indicators {
  /** Lower-case domain names (their subdomains are covered too). */
  domains: string[];
  /** Addresses or CIDR ranges, canonical text (`203.0.113.7/32`). */
  ips: string[];
  /** Absolute http(s) URLs of the phishing pages. */
  urls: string[];
  /** Emails of users known to be affected. */
  users: string[];
  /** Names of leaked Gatehouse service tokens (revoked first of all). */
  tokens: string[];
  /** Inventory ids of leaked outside credentials (rotated or revoked by the incident's campaign). */
  credentials: string[];
}

const MAX_PER_KIND = 1000;

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function checkCount(kind: string, values: readonly unknown[]): void {
  if (values.length > MAX_PER_KIND) throw new InputError(`at most ${MAX_PER_KIND} ${kind} per incident`, 'incident_invalid_indicator');
}

/** `203.0.113.7` becomes `203.0.113.7/32`; host bits set in a range are refused (likely a typo). */
export function canonicalCidr(raw: string): string {
  const text = String(raw).trim().toLowerCase();
  const parsed = parseCidr(text);
  if (typeof parsed === 'string') throw new InputError(`--ip ${parsed.slice(0, 120)}`, 'incident_invalid_indicator');
  return text.includes('/') ? text : `${text}/${net.isIPv6(text) ? 128 : 32}`;
}

/**
 * The bare address when a canonical CIDR names one host (IPv4 /32, IPv6 /128), else undefined. The
 * host prefix depends on the family: `2001:db8::/32` is a network of 2^96 addresses, not a host.
 */
export function singleHostOf(cidr: string): string | undefined {
  const slash = cidr.lastIndexOf('/');
  if (slash < 0) return cidr;
  const address = cidr.slice(0, slash);
  return cidr.slice(slash + 1) === (address.includes(':') ? '128' : '32') ? address : undefined;
}

export function canonicalUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(String(raw).trim());
  } catch {
    throw new InputError(`--url "${String(raw).slice(0, 120)}" is not an absolute URL`, 'incident_invalid_indicator');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`--url "${url.href.slice(0, 120)}" must be http or https`, 'incident_invalid_indicator');
  if (url.username || url.password) throw new InputError('--url must not carry credentials', 'incident_invalid_indicator');
  return url.href;
}

/**
 * Checks and canonicalises every indicator before anything is written; an error names the bad entry.
 * The host of each URL is added to the domains (a phishing URL's host is the lookalike to block).
 */
export function parseIndicators(input: {
  domains?: readonly string[];
  ips?: readonly string[];
  urls?: readonly string[];
  users?: readonly string[];
  tokens?: readonly string[];
  credentials?: readonly string[];
}): Indicators {
  const raw = { domains: input.domains ?? [], ips: input.ips ?? [], urls: input.urls ?? [], users: input.users ?? [], tokens: input.tokens ?? [], credentials: input.credentials ?? [] };
  for (const [kind, values] of Object.entries(raw)) checkCount(kind, values);
  const urls = unique(raw.urls.map(canonicalUrl));
  const hostDomains = urls.map((u) => new URL(u).hostname).filter((host) => net.isIP(host.replace(/^\[|\]$/g, '')) === 0);
  const hostIps = urls.map((u) => new URL(u).hostname.replace(/^\[|\]$/g, '')).filter((host) => net.isIP(host) !== 0);
  // A URL's host only (never its registrable domain: phishing pages live on shared hosting too);
  // names under another listed domain are already covered by its block.
  const domains = unique([...raw.domains, ...hostDomains].map((d) => normaliseDomainName(d)));
  return {
    domains: domains.filter((d) => !domains.some((other) => d !== other && d.endsWith(`.${other}`))),
    ips: unique([...raw.ips, ...hostIps].map(canonicalCidr)),
    urls,
    users: unique(raw.users.map((e) => normaliseEmail(e))),
    tokens: unique(raw.tokens.map((t) => credentialReference('--token', t))),
    credentials: unique(raw.credentials.map((c) => credentialReference('--credential', c))),
  };
}

/** The shape of a token name or inventory reference; whether it exists is checked against the store. */
function credentialReference(flag: string, raw: string): string {
  const text = String(raw).trim();
  if (!/^[^\u0000-\u001f\u007f]{1,200}$/.test(text)) throw new InputError(`${flag} must be 1 to 200 characters without control characters`, 'incident_invalid_indicator');
  return text;
}

/** Indicators as stored: incidents declared before tokens and credentials were indicators have neither. */
export function indicatorsOf(stored: Partial<Indicators>): Indicators {
  return { domains: stored.domains ?? [], ips: stored.ips ?? [], urls: stored.urls ?? [], users: stored.users ?? [], tokens: stored.tokens ?? [], credentials: stored.credentials ?? [] };
}

export function isEmpty(indicators: Indicators): boolean {
  return indicators.domains.length + indicators.ips.length + indicators.urls.length + indicators.users.length + indicators.tokens.length + indicators.credentials.length === 0;
}
