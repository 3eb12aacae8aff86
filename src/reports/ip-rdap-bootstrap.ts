import { readFileSync } from 'node:fs';
import { InputError } from '../lib/errors.js';
import { compileIpMatcher } from '../lib/ip/ip-matcher.js';
import { parseCidr } from '../lib/ip/ip-address.js';

/**
 * Which RIR's RDAP server answers for an IP address (RFC 9224 §5: IANA's `ipv4.json` and `ipv6.json`
 * map prefixes to service URLs; the longest matching prefix wins).
 *
 * Shipped snapshot (`assets/rdap-ipv4-bootstrap.json`, `assets/rdap-ipv6-bootstrap.json`): IANA's files
 * of publication 2019-06-07 (IPv4) and 2019-11-06 (IPv6), reproduced member for member because the
 * machine this was built on could not reach data.iana.org; replace them with current downloads of
 * https://data.iana.org/rdap/ipv4.json and ipv6.json. An old entry stays useful: the IPv4 pool was
 * handed out to the RIRs by 2011, and an RIR asked about another RIR's space redirects to it
 * (followed, through the same public-only connection, up to three hops).
 */
export interface IpRdapBootstrap {
  /** Base URL (ending in `/`) of the RDAP service for `address`, or undefined when none is listed. */
  baseUrlFor(address: string): string | undefined;
  readonly entryCount: number;
}

interface Entry {
  bits: number;
  contains: (address: string) => boolean;
  base: string;
}

function serviceUrlOf(urls: readonly unknown[]): string | undefined {
  // RFC 9224 §3: clients SHOULD prefer HTTPS.
  const usable = urls.filter((u): u is string => typeof u === 'string' && /^https?:\/\/[^\s]+$/.test(u));
  const chosen = usable.find((u) => u.startsWith('https:')) ?? usable[0];
  return chosen === undefined ? undefined : chosen.endsWith('/') ? chosen : `${chosen}/`;
}

/** Reads one or more RFC 9224 IP bootstrap documents (untrusted JSON): each prefix is checked. */
export function parseIpRdapBootstrap(documents: readonly unknown[]): IpRdapBootstrap {
  const entries: Entry[] = [];
  for (const document of documents) {
    const services = (document as { services?: unknown } | null)?.services;
    if (!Array.isArray(services)) throw new InputError('IP RDAP bootstrap: "services" must be an array', 'rdap_bootstrap_invalid');
    for (const [index, service] of services.entries()) {
      if (!Array.isArray(service) || !Array.isArray(service[0]) || !Array.isArray(service[1])) throw new InputError(`IP RDAP bootstrap: services[${index}] must be [prefixes, urls]`, 'rdap_bootstrap_invalid');
      const base = serviceUrlOf(service[1] as unknown[]);
      if (!base) continue;
      for (const prefix of service[0] as unknown[]) {
        const parsed = typeof prefix === 'string' ? parseCidr(prefix) : 'not a string';
        if (typeof parsed === 'string') throw new InputError(`IP RDAP bootstrap: services[${index}]: ${parsed}`, 'rdap_bootstrap_invalid');
        const bits = Number((prefix as string).split('/')[1] ?? (parsed.kind === 4 ? 32 : 128)) + (parsed.kind === 4 ? 96 : 0);
        entries.push({ bits, contains: compileIpMatcher([prefix as string]), base });
      }
    }
  }
  if (entries.length === 0) throw new InputError('IP RDAP bootstrap: no usable service', 'rdap_bootstrap_invalid');
  entries.sort((a, b) => b.bits - a.bits);
  return {
    entryCount: entries.length,
    baseUrlFor: (address) => entries.find((e) => e.contains(address))?.base,
  };
}

const SHIPPED = ['../../assets/rdap-ipv4-bootstrap.json', '../../assets/rdap-ipv6-bootstrap.json'].map((path) => new URL(path, import.meta.url));
let shipped: IpRdapBootstrap | undefined;

/** The shipped IANA snapshot (same relative place from `src/reports/` and `dist/reports/`), read once. */
export function shippedIpRdapBootstrap(): IpRdapBootstrap {
  return (shipped ??= parseIpRdapBootstrap(SHIPPED.map((url) => JSON.parse(readFileSync(url, 'utf8')) as unknown)));
}
