import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../../lib/errors.js';

/** RFC 9224 §3: `services` is an array of [entries, service URLs] pairs; other members are ignored. */
const bootstrapSchema = z.object({
  version: z.string().optional(),
  publication: z.string().optional(),
  services: z.array(z.tuple([z.array(z.string()), z.array(z.string())]).rest(z.unknown())).min(1),
});

export interface RdapBootstrap {
  /** `publication` member of the file, as published (RFC 3339), if present. */
  readonly publication: string | undefined;
  readonly entryCount: number;
  /** Base URL (ending in `/`) of the RDAP service for a domain name, or undefined when none is listed. */
  baseUrlFor(domain: string): string | undefined;
}

/** RFC 9224 §3: "clients SHOULD prefer HTTPS" — http is used only where a registry offers nothing else. */
function pickServiceUrl(urls: readonly string[]): string | undefined {
  const usable = urls.filter((raw) => {
    try {
      const url = new URL(raw);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  });
  const chosen = usable.find((raw) => raw.startsWith('https:')) ?? usable[0];
  if (chosen === undefined) return undefined;
  // RFC 9224 §3: base URLs end with "/"; a missing one would drop the last path segment when joined.
  return chosen.endsWith('/') ? chosen : `${chosen}/`;
}

/**
 * Longest-suffix match of a name against a table of label suffixes (RFC 9224 §4: "the longest
 * match wins"), e.g. `evil.co.uk` tries `evil.co.uk`, `co.uk`, `uk`.
 */
export function longestSuffixMatch<T>(table: ReadonlyMap<string, T>, domain: string): T | undefined {
  const labels = domain.toLowerCase().replace(/\.$/, '').split('.');
  for (let start = 0; start < labels.length; start += 1) {
    const hit = table.get(labels.slice(start).join('.'));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Validates untrusted bootstrap JSON (shipped snapshot or a download) and indexes it by TLD. */
export function parseRdapBootstrap(json: unknown): RdapBootstrap {
  const parsed = bootstrapSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      `RDAP bootstrap: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
      'rdap_bootstrap_invalid',
    );
  }
  const byEntry = new Map<string, string>();
  for (const [entries, urls] of parsed.data.services) {
    const base = pickServiceUrl(urls);
    if (!base) continue;
    for (const entry of entries) {
      const key = entry.toLowerCase().replace(/^\.|\.$/g, '');
      if (key && !byEntry.has(key)) byEntry.set(key, base);
    }
  }
  if (byEntry.size === 0) throw new InputError('RDAP bootstrap: no usable service URL', 'rdap_bootstrap_invalid');
  return {
    publication: parsed.data.publication,
    entryCount: byEntry.size,
    baseUrlFor: (domain) => longestSuffixMatch(byEntry, domain),
  };
}

/** The IANA snapshot shipped in `assets/` (same relative place from `src/` and `dist/`). */
export const SHIPPED_BOOTSTRAP_URL = new URL('../../../assets/rdap-dns-bootstrap.json', import.meta.url);

export function loadRdapBootstrapFile(path: string | URL = SHIPPED_BOOTSTRAP_URL): RdapBootstrap {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InputError(`RDAP bootstrap file ${String(path)}: ${(error as Error).message}`, 'rdap_bootstrap_invalid');
  }
  return parseRdapBootstrap(json);
}
