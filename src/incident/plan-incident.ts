import { findAffectedUsers } from './find-affected-users.js';
import type { IncidentRecord } from './incident-types.js';
import { warningEmail } from './notify/warning-message.js';
import type { PlaybookDeps } from './playbook-context.js';
import { buildStixBundle, type StixBundle } from './stix/stix-bundle.js';

export interface IncidentPlan {
  dryRun: true;
  title: string;
  steps: { step: string; would: string }[];
  /** Whether a rotation campaign would be started (`--campaign`). */
  campaign: boolean;
  users: { id: string; email: string; sources: string[]; hasKey: boolean }[];
  warning: { subject: string; text: string };
  stix: StixBundle;
}

/** What revoke_credentials would do: the tokens it would revoke, the outside credentials it cannot, and the campaign. */
async function planCredentials(deps: PlaybookDeps, incident: IncidentRecord): Promise<string> {
  const { tokens, credentials } = incident.indicators;
  const parts: string[] = [];
  const toRevoke: string[] = [];
  const revokedAlready: string[] = [];
  for (const name of tokens) ((await deps.credentials.tokens.show(name)).status === 'revoked' ? revokedAlready : toRevoke).push(name);
  if (toRevoke.length > 0) parts.push(`revoke service token(s) ${toRevoke.join(', ')} on every instance`);
  if (revokedAlready.length > 0) parts.push(`leave ${revokedAlready.join(', ')} (already revoked)`);
  if (credentials.length > 0) {
    const names: string[] = [];
    for (const id of credentials) names.push((await deps.credentials.findInventoryItem(id))?.name ?? id);
    parts.push(`${incident.options.campaign ? 'hand to the campaign' : 'NOT revoke (no --campaign: revoke by hand)'} outside credential(s) ${names.join(', ')}`);
  }
  const campaign = incident.options.campaign;
  if (campaign) {
    const filters = Object.entries(campaign.scope).map(([key, values]) => `${key}=${(values as string[]).join('|')}`);
    parts.push(`start an emergency rotation campaign over ${tokens.length + credentials.length} named credential(s)${filters.length ? ` and every credential matching ${filters.join(', ')}` : ''}`);
  } else parts.push('start no campaign');
  return tokens.length + credentials.length === 0 && !campaign ? 'nothing (no --token, --credential or --campaign)' : parts.join('; ');
}

/**
 * `--dry-run`: what the playbook would do, computed with reads only (the hunts are read-only, block
 * lists and sessions are counted, nothing is written, no message is sent).
 */
export async function planIncident(deps: PlaybookDeps, incident: IncidentRecord): Promise<IncidentPlan> {
  const { db } = deps.store;
  const { incident: config, organisation, portalUrl } = deps.settings();
  const { domains, ips } = incident.indicators;
  const blockedDomains = domains.length ? new Set((await db.selectFrom('domain_blocks').select('name').where('name', 'in', domains).execute()).map((r) => r.name)) : new Set<string>();
  const blockedIps = new Set(deps.ipBlocks.list().map((b) => b.cidr));
  const found = await findAffectedUsers(deps, incident);
  const ids = [...found.users.keys()];
  const rows = ids.length ? await db.selectFrom('users').select(['id', 'email']).where('id', 'in', ids).execute() : [];
  const keyed = ids.length ? new Set((await db.selectFrom('credentials').select('user_id').where('user_id', 'in', ids).execute()).map((r) => r.user_id)) : new Set<string>();
  const now = deps.clock.now();
  let sessions = db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('revoked_at', 'is', null).where('expires_at', '>', now);
  if (!incident.options.allSessions) sessions = ids.length ? sessions.where('user_id', 'in', ids) : sessions.where('user_id', '=', '');
  const sessionCount = Number((await sessions.executeTakeFirst())?.n ?? 0);
  const activeUsers = Number((await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'active').executeTakeFirst())?.n ?? 0);
  const users = rows.map((r) => ({ id: r.id, email: r.email, sources: found.users.get(r.id) ?? [], hasKey: keyed.has(r.id) })).sort((a, b) => a.email.localeCompare(b.email));
  const newDomains = domains.filter((d) => !blockedDomains.has(d));
  const newIps = ips.filter((c) => !blockedIps.has(c));
  const revokeCredentials = await planCredentials(deps, incident);
  const warning = warningEmail({ incidentId: incident.id, title: incident.title, organisation, portalUrl, indicators: incident.indicators });
  return {
    dryRun: true,
    title: incident.title,
    steps: [
      { step: 'revoke_credentials', would: revokeCredentials },
      { step: 'block_domains', would: domains.length ? `block ${newDomains.join(', ') || '(all already blocked)'}${incident.options.strictNewDomains ? '; turn on strict new-domain isolation' : ''}` : 'nothing (no --domain)' },
      { step: 'block_ips', would: ips.length ? `block ${newIps.join(', ') || '(all already blocked)'}` : 'nothing (no --ip)' },
      { step: 'hunt', would: `contain ${users.length} user(s): ${found.hunts.map((h) => `${h.hunt} ${h.users}`).join(', ')}` },
      { step: 'revoke_sessions', would: `revoke ${sessionCount} session(s) (${incident.options.allSessions ? 'everyone' : 'contained users'})` },
      { step: 'force_reenrollment', would: `disable passwords/TOTP of ${users.length} user(s); email ${users.filter((u) => !u.hasKey).length} new enrollment link(s)${config.smtp ? '' : ' (no SMTP: by hand)'}` },
      { step: 'notify', would: `${config.webhook_url ? 'post to the webhook; ' : 'post nothing (no incident.webhook_url); '}${config.smtp ? `email ${config.notify_all_users ? activeUsers : users.length} user(s)` : 'send no email (no incident.smtp)'}` },
      { step: 'export_stix', would: `export ${domains.length + ips.length + incident.indicators.urls.length} indicator(s) as STIX 2.1` },
    ],
    campaign: incident.options.campaign !== undefined,
    users,
    warning,
    stix: buildStixBundle({ incidentId: incident.id, title: incident.title, organisation, declaredAt: incident.declaredAt, indicators: incident.indicators }),
  };
}
