import { CAMPAIGN_ERRORS, campaignError } from './campaign-codes.js';

/** Which credentials a campaign snapshots: every field given must match (all when empty). */
export interface CampaignScope {
  kind?: string[] | undefined;
  system?: string[] | undefined;
  owner?: string[] | undefined;
}

const KEYS = ['kind', 'system', 'owner'] as const;

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

export function inScope(scope: CampaignScope, credential: { kind: string; system: string; owner: string }): boolean {
  return KEYS.every((key) => scope[key] === undefined || scope[key]!.includes(key === 'owner' ? credential.owner.toLowerCase() : credential[key]));
}
