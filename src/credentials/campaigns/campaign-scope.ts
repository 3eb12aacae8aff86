import { CAMPAIGN_ERRORS, campaignError } from './campaign-codes.js';

/**
 * Which credentials a campaign snapshots. Filters (`kind`, `system`, `owner`): every one given must
 * match (all credentials when none is given). Names (`token`: service token names, `credential`:
 * inventory ids) are always in scope; with names and no filter, only the names are (an incident's
 * campaign covers exactly the credentials it names).
 */
export interface CampaignScope {
  kind?: string[] | undefined;
  system?: string[] | undefined;
  owner?: string[] | undefined;
  token?: string[] | undefined;
  credential?: string[] | undefined;
}

const FILTERS = ['kind', 'system', 'owner'] as const;
const NAMES = ['token', 'credential'] as const;
const KEYS = [...FILTERS, ...NAMES] as const;

/**
 * Parses `kind=api_token,system=github,owner=a@x.test`; a key given twice means either value
 * (`kind=ssh_key,kind=database_role`). Unknown keys are refused: a typo must not widen or empty a
 * campaign silently.
 */
export function parseCampaignScope(text: string | undefined): CampaignScope {
  const scope: CampaignScope = {};
  if (text === undefined || text.trim() === '') return scope;
  for (const part of text.split(',')) {
    const match = /^\s*([a-z_]+)\s*=\s*(\S(?:.*\S)?)\s*$/.exec(part);
    if (!match) throw campaignError(CAMPAIGN_ERRORS.scopeInvalid, `--scope ${JSON.stringify(part)}: expected key=value (keys: ${KEYS.join(', ')})`);
    const key = match[1] as (typeof KEYS)[number];
    if (!KEYS.includes(key)) throw campaignError(CAMPAIGN_ERRORS.scopeInvalid, `--scope: unknown key ${JSON.stringify(match[1])} (keys: ${KEYS.join(', ')})`);
    const value = key === 'owner' ? match[2]!.toLowerCase() : match[2]!;
    scope[key] = [...(scope[key] ?? []), value];
  }
  return scope;
}

/** True when the scope names credentials (service tokens or inventory ids) explicitly. */
export function namesCredentials(scope: CampaignScope): boolean {
  return NAMES.some((key) => scope[key] !== undefined && scope[key]!.length > 0);
}

/** True when the scope has a kind, system or owner filter. */
export function hasFilters(scope: CampaignScope): boolean {
  return FILTERS.some((key) => scope[key] !== undefined);
}

export function inScope(scope: CampaignScope, credential: { kind: string; system: string; owner: string; token?: string | undefined; credentialId?: string | undefined }): boolean {
  if (credential.token !== undefined && scope.token?.includes(credential.token)) return true;
  if (credential.credentialId !== undefined && scope.credential?.includes(credential.credentialId)) return true;
  if (namesCredentials(scope) && !hasFilters(scope)) return false;
  return FILTERS.every((key) => scope[key] === undefined || scope[key]!.includes(key === 'owner' ? credential.owner.toLowerCase() : credential[key]));
}
