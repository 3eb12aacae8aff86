import { z } from 'zod';
import { InputError } from '../../lib/errors.js';
import { parseDuration } from '../duration.js';
import { huntFromIp } from './from-ip.js';
import { HUNT_NAMES, type HuntContext, type HuntName, type HuntResult } from './hunt-result.js';
import { huntNewAdmins } from './new-admins.js';
import { huntPasswordWithoutKey } from './password-without-key.js';
import { huntResolvedDomain } from './resolved-domain.js';
import { huntTokenUse } from './token-use.js';

const since = z.string().max(12).optional().describe('window such as 24h, 7d (default: incident.hunt_window_hours)');
const list = z.array(z.string().min(1).max(300)).min(1).max(1000);

/** Parameters per hunt, the same for the CLI flags and the admin API body (unknown keys refused). */
export const huntParamSchemas = {
  'password-without-key': z.strictObject({ since }),
  'from-ip': z.strictObject({ since, ips: list }),
  'resolved-domain': z.strictObject({ since, domains: list }),
  'new-admins': z.strictObject({ since }),
  'token-use': z.strictObject({ since, tokens: z.array(z.string().min(1).max(63)).min(1).max(100) }),
} as const;

export function isHuntName(name: string): name is HuntName {
  return (HUNT_NAMES as readonly string[]).includes(name);
}

/** Runs a hunt by name with untrusted parameters (validated here); read-only. */
export async function runHunt(ctx: HuntContext, name: string, params: unknown, defaultWindowMs: number): Promise<HuntResult> {
  if (!isHuntName(name)) throw new InputError(`no hunt named "${name.slice(0, 40)}": one of ${HUNT_NAMES.join(', ')}`, 'hunt_unknown');
  const parsed = huntParamSchemas[name].safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`hunt ${name}: ${issue.path.join('.') || '(body)'}: ${issue.message}`, 'hunt_invalid_params');
  }
  const sinceMs = parsed.data.since === undefined ? defaultWindowMs : parseDuration(parsed.data.since);
  switch (name) {
    case 'password-without-key':
      return huntPasswordWithoutKey(ctx, { sinceMs });
    case 'from-ip':
      return huntFromIp(ctx, { sinceMs, ips: (parsed.data as { ips: string[] }).ips });
    case 'resolved-domain':
      return huntResolvedDomain(ctx, { sinceMs, domains: (parsed.data as { domains: string[] }).domains });
    case 'new-admins':
      return huntNewAdmins(ctx, { sinceMs });
    case 'token-use':
      return huntTokenUse(ctx, { sinceMs, tokens: (parsed.data as { tokens: string[] }).tokens });
  }
}
