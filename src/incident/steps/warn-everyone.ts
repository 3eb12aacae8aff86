import type { OutboxItem } from '../notify/outbox.js';
import { warningEmail, warningWebhook } from '../notify/warning-message.js';
import { warningContextOf } from '../playbook-context.js';
import type { PlaybookStep } from './playbook-step.js';

/**
 * Warn everyone (9 minutes in 2022): one chat message to the webhook and one email per active user
 * (or per contained user), each an outbox row with its own key, so a resumed run sends only what
 * was not sent. A channel that is not configured is reported as skipped, not failed.
 */
export const warnEveryoneStep: PlaybookStep = {
  name: 'notify',
  dependsOn: () => [],
  async run(ctx) {
    const { deps, incident } = ctx;
    const { incident: config } = deps.settings();
    const { webhook, email } = deps.senders();
    const warning = warningContextOf(ctx);
    const items: OutboxItem[] = [];
    if (webhook) {
      const steps = await deps.repository.steps(incident.id);
      const revoked = Number(steps.get('revoke_sessions')?.result?.revoked ?? 0);
      const contained = (await deps.repository.users(incident.id)).length;
      items.push({ key: `${incident.id}:webhook:warning`, channel: 'webhook', kind: 'warning', recipient: 'webhook', payload: { ...warningWebhook(warning, { containedUsers: contained, revokedSessions: revoked }) } });
    }
    let recipients = 0;
    if (email) {
      const message = warningEmail(warning);
      const rows = config.notify_all_users
        ? await deps.store.db.selectFrom('users').select(['id', 'email']).where('status', '=', 'active').execute()
        : await deps.store.db
            .selectFrom('incident_users')
            .innerJoin('users', 'users.id', 'incident_users.user_id')
            .select(['users.id', 'users.email'])
            .where('incident_users.incident_id', '=', incident.id)
            .execute();
      recipients = rows.length;
      for (const row of rows) items.push({ key: `${incident.id}:email:warning:${row.id}`, channel: 'email', kind: 'warning', recipient: row.email, payload: { subject: message.subject, text: message.text } });
    }
    const queued = await deps.outbox.enqueue(incident.id, items);
    const report = await deps.outbox.deliverPending(incident.id, 'warning', deps.deliver, { concurrency: config.smtp?.pool_size ?? 1, ...(deps.hooks.onDelivered ? { onDelivered: deps.hooks.onDelivered } : {}) });
    const result = {
      webhook: webhook ? 'queued' : 'skipped: no incident.webhook_url',
      email: email ? `${recipients} recipient(s)` : 'skipped: no incident.smtp',
      queued,
      sent: report.sent,
      sentBefore: report.alreadySent,
      failed: report.failed.length,
    };
    if (report.failed.length > 0) throw Object.assign(new Error(`${report.failed.length} warning(s) not delivered, first: ${report.failed[0]!.key}: ${report.failed[0]!.error}`), { result });
    return result;
  },
};
