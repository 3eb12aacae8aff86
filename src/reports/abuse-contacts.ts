import { createPublicOnlyAgent, fetchCapped, loadRdapBootstrapFile, longestSuffixMatch, type PublicOnlyAgentOptions, type RdapBootstrap } from '../intel/domain-age/index.js';

export interface AbuseContact {
  /** `registrar` (the registrar's abuse contact), `registrant`, … as the RDAP entity's roles say. */
  role: string;
  email: string;
  name?: string;
}

type Entity = { roles?: unknown; vcardArray?: unknown; entities?: unknown };

function vcardField(entity: Entity, field: string): string | undefined {
  // RFC 7095 jCard: ["vcard", [[name, params, type, value], ...]].
  const card = Array.isArray(entity.vcardArray) ? (entity.vcardArray[1] as unknown) : undefined;
  if (!Array.isArray(card)) return undefined;
  const entry = card.find((p: unknown) => Array.isArray(p) && p[0] === field) as unknown[] | undefined;
  return typeof entry?.[3] === 'string' ? entry[3] : undefined;
}

/**
 * Abuse contacts in an RDAP domain or IP network object (RFC 9083 §5.1 entities, RFC 7095 jCard): each
 * entity with the `abuse` role, named after its parent's role (`registrar`) when nested. Bounded: the
 * answer comes from a server we do not control.
 */
export function abuseContactsOf(rdap: unknown): AbuseContact[] {
  const found: AbuseContact[] = [];
  const walk = (entities: unknown, parentRole: string | undefined, depth: number) => {
    if (!Array.isArray(entities) || depth > 3) return;
    for (const entity of entities.slice(0, 50) as Entity[]) {
      if (typeof entity !== 'object' || entity === null) continue;
      const roles = Array.isArray(entity.roles) ? entity.roles.filter((r): r is string => typeof r === 'string') : [];
      const email = vcardField(entity, 'email');
      if (roles.includes('abuse') && email && /^[^\s@<>]{1,64}@[^\s@<>]{1,253}$/.test(email)) {
        const name = vcardField(entity, 'fn');
        found.push({ role: parentRole ?? 'abuse', email: email.toLowerCase(), ...(name ? { name: name.slice(0, 200) } : {}) });
      }
      walk(entity.entities, roles.find((r) => r !== 'abuse') ?? parentRole, depth + 1);
    }
  };
  walk((rdap as { entities?: unknown } | null)?.entities, undefined, 0);
  return [...new Map(found.map((c) => [c.email, c])).values()];
}

let shipped: RdapBootstrap | undefined;

/**
 * The registrar's abuse contacts of `domain` from its RDAP server (`dns.age.rdap_overrides`, then the
 * shipped IANA bootstrap), through the public-only agent like every RDAP request. The domain is the
 * lure's registrable domain from a report: only the registry's server is asked, never the lure.
 */
export async function lookupAbuseContacts(
  domain: string,
  options: { rdapOverrides: Record<string, string>; timeoutMs: number; connection?: PublicOnlyAgentOptions },
): Promise<{ contacts: AbuseContact[]; source: string } | { error: string }> {
  const overrides = new Map(Object.entries(options.rdapOverrides).map(([suffix, url]) => [suffix.toLowerCase().replace(/^\.|\.$/g, ''), url.endsWith('/') ? url : `${url}/`]));
  const base = longestSuffixMatch(overrides, domain) ?? (shipped ??= loadRdapBootstrapFile()).baseUrlFor(domain);
  if (!base) return { error: `no RDAP server is listed for ${domain}` };
  const url = `${base}domain/${encodeURIComponent(domain)}`;
  const agent = createPublicOnlyAgent(options.connection ?? {});
  try {
    const result = await fetchCapped(url, { maxBytes: 512 * 1024, timeoutMs: options.timeoutMs, maxRedirects: 3, accept: 'application/rdap+json', dispatcher: agent });
    if (result.kind === 'failure') return { error: `${result.code}: ${result.detail}` };
    if (result.status !== 200) return { error: `RDAP answered ${result.status}` };
    return { contacts: abuseContactsOf(JSON.parse(result.body.toString('utf8'))), source: url };
  } catch (error) {
    return { error: `RDAP answer unreadable: ${(error as Error).message.slice(0, 200)}` };
  } finally {
    await agent.close();
  }
}
