import type { PlaybookDeps } from '../playbook-context.js';
import type { OutboxRow } from './outbox.js';
import { inviteEmail, type WarningContext } from './warning-message.js';
import type { WebhookMessage } from './webhook-sender.js';

/**
 * Sends one outbox item. An `invite` item mints its enrollment link at send time (earlier open links
 * of the user are invalidated first), so the token exists only in the mail, never at rest.
 */
export function createItemDeliverer(deps: Pick<PlaybookDeps, 'senders' | 'identity'>, warning: (incidentId: string) => Promise<WarningContext>) {
  return async (item: OutboxRow): Promise<void> => {
    const { webhook, email } = deps.senders();
    if (item.channel === 'webhook') {
      if (!webhook) throw new Error('no incident.webhook_url configured');
      await webhook(item.payload as unknown as WebhookMessage, { idempotencyKey: item.key });
      return;
    }
    if (!email) throw new Error('no incident.smtp configured');
    if (item.kind === 'invite') {
      const userId = String(item.payload.userId);
      await deps.identity.ctx.invites.revokeForUser(userId);
      const invite = await deps.identity.invite({ email: item.recipient, actor: `incident:${item.incidentId}` });
      const message = inviteEmail(await warning(item.incidentId), invite.url, invite.expiresAt);
      await email.send({ to: item.recipient, ...message }, { idempotencyKey: item.key });
      return;
    }
    await email.send({ to: item.recipient, subject: String(item.payload.subject), text: String(item.payload.text) }, { idempotencyKey: item.key });
  };
}
