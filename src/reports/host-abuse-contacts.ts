import { createPublicOnlyAgent, fetchCapped, nonPublicRange, type PublicOnlyAgentOptions } from '../intel/domain-age/index.js';
import { abuseContactsOf, type AbuseContact } from './abuse-contacts.js';
import type { IpRdapBootstrap } from './ip-rdap-bootstrap.js';
import type { ResolveLureAddresses } from './resolve-lure-addresses.js';

/** What the host look-up found: each public address the lure resolved to, with its network's abuse contacts or why not. */
export interface HostAbuseLookup {
  addresses: string[];
  contacts: (AbuseContact & { address: string; network?: string })[];
  /** Per address: the RDAP URL asked, or why nothing was asked or found. */
  sources: { address: string; source?: string; error?: string }[];
}

/**
 * The hosting network's abuse contacts of a lure: its A/AAAA addresses, then RDAP for each address at
 * the RIR the IP bootstrap names (RFC 9083 §5.4 IP network objects; entities with the `abuse` role,
 * RFC 9083 §10.2.4), through the public-only agent like every RDAP request. An address in a private or
 * reserved range is reported and not looked up (a lure pointed at 10.0.0.1 has no host to write to,
 * and an RDAP server is never chosen by the lure).
 */
export async function lookupHostAbuseContacts(
  domain: string,
  options: { resolve: ResolveLureAddresses; bootstrap: IpRdapBootstrap; timeoutMs: number; connection?: PublicOnlyAgentOptions },
): Promise<HostAbuseLookup> {
  const addresses = await options.resolve(domain);
  const out: HostAbuseLookup = { addresses, contacts: [], sources: [] };
  if (addresses.length === 0) return { ...out, sources: [{ address: '-', error: `${domain} does not resolve` }] };
  const agent = createPublicOnlyAgent(options.connection ?? {});
  try {
    for (const address of addresses) {
      const range = nonPublicRange(address);
      if (range) {
        out.sources.push({ address, error: `not a public address (${range})` });
        continue;
      }
      const base = options.bootstrap.baseUrlFor(address);
      if (!base) {
        out.sources.push({ address, error: 'no RDAP server is listed for this address' });
        continue;
      }
      const url = `${base}ip/${encodeURIComponent(address)}`;
      try {
        const result = await fetchCapped(url, { maxBytes: 512 * 1024, timeoutMs: options.timeoutMs, maxRedirects: 3, accept: 'application/rdap+json', dispatcher: agent });
        if (result.kind === 'failure') out.sources.push({ address, source: url, error: `${result.code}: ${result.detail}` });
        else if (result.status !== 200) out.sources.push({ address, source: url, error: `RDAP answered ${result.status}` });
        else {
          const network = JSON.parse(result.body.toString('utf8')) as { name?: unknown; handle?: unknown };
          const label = [network.name, network.handle].filter((v): v is string => typeof v === 'string').join(' ').slice(0, 120);
          for (const contact of abuseContactsOf(network)) out.contacts.push({ ...contact, role: 'host', address, ...(label ? { network: label } : {}) });
          out.sources.push({ address, source: url });
        }
      } catch (error) {
        out.sources.push({ address, source: url, error: `RDAP answer unreadable: ${(error as Error).message.slice(0, 200)}` });
      }
    }
  } finally {
    await agent.close();
  }
  out.contacts = [...new Map(out.contacts.map((c) => [c.email, c])).values()];
  return out;
}
