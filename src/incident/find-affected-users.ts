import { huntFromIp } from './hunts/from-ip.js';
import type { HuntResult } from './hunts/hunt-result.js';
import { huntPasswordWithoutKey } from './hunts/password-without-key.js';
import { huntResolvedDomain } from './hunts/resolved-domain.js';
import { huntContextOf, type PlaybookDeps } from './playbook-context.js';
import type { IncidentRecord } from './incident-types.js';

export interface AffectedUsers {
  /** user id -> why (`hunt:password-without-key`, `indicator:user`, ...). */
  users: Map<string, string[]>;
  hunts: { hunt: string; users: number; sessions: number; evidence: number; clients?: number }[];
}

function add(users: Map<string, string[]>, userId: string, source: string): void {
  const list = users.get(userId) ?? [];
  if (!list.includes(source)) list.push(source);
  users.set(userId, list);
}

/**
 * The hunts the playbook runs (read-only): password-without-key over the window, resolved-domain for
 * the indicator domains, from-ip for the indicator addresses; plus the users named at declaration.
 */
export async function findAffectedUsers(deps: PlaybookDeps, incident: IncidentRecord): Promise<AffectedUsers & { results: HuntResult[] }> {
  const ctx = huntContextOf(deps);
  const sinceMs = incident.options.huntWindowMs;
  const results: HuntResult[] = [await huntPasswordWithoutKey(ctx, { sinceMs })];
  if (incident.indicators.domains.length > 0) results.push(await huntResolvedDomain(ctx, { domains: incident.indicators.domains, sinceMs }));
  if (incident.indicators.ips.length > 0) results.push(await huntFromIp(ctx, { ips: incident.indicators.ips, sinceMs }));
  const users = new Map<string, string[]>();
  for (const result of results) for (const user of result.users) add(users, user.id, `hunt:${result.hunt}`);
  if (incident.indicators.users.length > 0) {
    const rows = await deps.store.db.selectFrom('users').select('id').where('email', 'in', incident.indicators.users).execute();
    for (const row of rows) add(users, row.id, 'indicator:user');
  }
  return {
    users,
    results,
    hunts: results.map((r) => ({ hunt: r.hunt, users: r.users.length, sessions: r.sessions.length, evidence: r.evidence.length, ...(r.clients ? { clients: r.clients.length } : {}) })),
  };
}
