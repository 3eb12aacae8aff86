import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

/**
 * The event types Gatehouse records, so `audit query --type` and the console's filter can refuse a
 * typo instead of printing nothing (which reads as "it never happened"). A type recorded by a newer or older version is known
 * too: the types already in the log are added to this list.
 */
export const AUDIT_EVENT_TYPES: readonly string[] = [
  'access.denied', 'access.handshake', 'admin.console_action', 'admin.denied', 'admin.hunt', 'admin.stream_refused', 'audit.pruned',
  'campaign.approval_refused', 'campaign.attested', 'campaign.closed', 'campaign.item_closed', 'campaign.item_failed',
  'campaign.item_waiting', 'campaign.lease_taken_over', 'campaign.owner_task', 'campaign.stale_secret_files_removed', 'campaign.started', 'campaign.task_refused',
  'cli_login.authorize_refused', 'cli_login.code_issued', 'cli_login.credential_issued', 'cli_login.credential_refused',
  'cli_login.credential_revoked', 'cli_login.token_refused',
  'dns.block_refused', 'dns.blocks_changed', 'dns.domains_blocked', 'dns.domains_unblocked', 'dns.settings_changed', 'dns.strict_new_domains',
  'incident.alert', 'incident.closed', 'incident.declared', 'incident.lease_taken_over', 'incident.playbook', 'incident.resumed',
  'inventory.added', 'inventory.edited', 'inventory.imported', 'inventory.retired',
  'invite.created', 'ip.block_refused', 'ip.blocked', 'ip.unblocked', 'key.added', 'key.removed', 'key.renamed',
  'secrets.forgotten', 'secrets.kek_rotated', 'secrets.sealed_at_rest',
  'service_token.believed_unused', 'service_token.changed', 'service_token.changed_many', 'service_token.created',
  'service_token.refused', 'service_token.resumed', 'service_token.revoked', 'service_token.rotated', 'service_token.suspended',
  'report.abuse_acknowledged', 'report.abuse_drafted', 'report.abuse_sent', 'report.dismissed', 'report.escalated', 'report.escalation_refused', 'report.received', 'report.refused',
  'session.revoked', 'session.revoked_all', 'session.revoked_user',
  'sign_in', 'sign_in_throttled', 'step_up', 'tunnel.closed', 'tunnel.opened', 'tunnel.refused',
  'ssh.ca_created', 'ssh.ca_rotated', 'ssh.certificate_issued', 'ssh.certificate_refused', 'ssh.host_certificate_issued',
  'token.last_use', 'user.changed', 'user.created', 'user.disabled', 'user.enabled', 'user.group_added', 'user.group_removed',
  'user.reenroll_required', 'webauthn.create', 'webauthn.get',
];

export async function knownAuditTypes(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('audit_events').select('type').distinct().execute();
  return [...new Set([...AUDIT_EVENT_TYPES, ...rows.map((row) => row.type)])].sort();
}
