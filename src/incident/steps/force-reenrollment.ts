import type { OutboxItem } from '../notify/outbox.js';
import type { PlaybookStep } from './playbook-step.js';

const CHUNK = 200;

/**
 * Contained users must prove possession of a security key again: their sessions are gone, their
 * password and TOTP secret (which the relay may hold) are deleted, and `reenroll_required` is set.
 * Users without any key cannot sign in at all after this, so each gets a fresh one-time enrollment
 * link by email, created only when the mail is sent (no bearer token waits in the database).
 */
export const forceReenrollmentStep: PlaybookStep = {
  name: 'force_reenrollment',
  dependsOn: () => ['hunt'],
  async run({ deps, incident, actor, reason }) {
    const users = await deps.repository.users(incident.id);
    const withoutKey: { userId: string; email: string }[] = [];
    for (let i = 0; i < users.length; i += CHUNK) {
      const chunk = users.slice(i, i + CHUNK).filter((u) => u.email !== '(deleted user)');
      if (chunk.length === 0) continue;
      const ids = chunk.map((u) => u.userId);
      const keyed = new Set(
        (await deps.store.db.selectFrom('credentials').select('user_id').where('user_id', 'in', ids).groupBy('user_id').execute()).map((r) => r.user_id),
      );
      await deps.store.db.transaction().execute(async (trx) => {
        for (const user of chunk) {
          await deps.identity.legacy.disable(user.userId, trx);
          await deps.identity.users.setReenrollRequired(user.userId, true, trx);
        }
        // Sessions issued to these users up to now (a relay may have signed in between the steps).
        // With --all-sessions the revoke step holds every older row; only newer ones are left here,
        // so this statement never waits on that large UPDATE's row locks.
        const sessionsRevoked = await deps.identity.sessions.revokeUsers(ids, reason, trx, incident.options.allSessions ? { createdSince: incident.declaredAt } : {});
        await deps.audit.record({ type: 'user.reenroll_required', outcome: 'success', actor, detail: { users: ids, sessionsRevoked, reason, incident: incident.id } }, trx);
      });
      for (const user of chunk) if (!keyed.has(user.userId)) withoutKey.push({ userId: user.userId, email: user.email });
    }

    const { email } = deps.senders();
    let invites: Record<string, unknown> = { needed: withoutKey.length };
    if (withoutKey.length > 0 && email) {
      const items: OutboxItem[] = withoutKey.map((u) => ({ key: `${incident.id}:email:invite:${u.userId}`, channel: 'email', kind: 'invite', recipient: u.email, payload: { userId: u.userId } }));
      await deps.outbox.enqueue(incident.id, items);
      const report = await deps.outbox.deliverPending(incident.id, 'invite', deps.deliver, { concurrency: deps.settings().incident.smtp?.pool_size ?? 1, ...(deps.hooks.onDelivered ? { onDelivered: deps.hooks.onDelivered } : {}) });
      if (report.failed.length > 0) throw new Error(`${report.failed.length} enrollment email(s) not delivered: ${report.failed[0]!.error}`);
      invites = { needed: withoutKey.length, sent: report.sent, sentBefore: report.alreadySent };
    } else if (withoutKey.length > 0) {
      invites = { needed: withoutKey.length, sent: 0, note: 'no incident.smtp configured: send `gatehouse user invite` links by hand', users: withoutKey.map((u) => u.email) };
    }
    return { users: users.length, withKey: users.length - withoutKey.length, invites };
  },
};
