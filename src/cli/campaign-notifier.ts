import type { OwnerTaskNotifier } from '../credentials/index.js';
import type { GatehouseCore } from '../core.js';

/** A plain address (one @, no spaces or angle brackets): an owner named as a team or a system is told by the operator. */
const EMAIL = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;

/**
 * Wires owner-task notices to the incident capability's mail sender (`incident.smtp`): credentials
 * must not import incident (incident imports credentials), so the CLI, which sees both, joins them.
 * Without `incident.smtp`, or for an owner that is not an email address, the notice is not sent and
 * the run prints the link for the operator. Returns `close` for the mail pool.
 */
export async function ownerTaskEmailNotifier(core: GatehouseCore): Promise<{ notify: OwnerTaskNotifier | undefined; close(): void }> {
  const { config } = core.snapshot();
  if (!config.incident.smtp) return { notify: undefined, close: () => undefined };
  const [{ createEmailSender }, { ownerTaskEmail }, { portalUrlOf }] = await Promise.all([import('../incident/index.js'), import('../credentials/index.js'), import('../core.js')]);
  const sender = createEmailSender(config.incident.smtp);
  const portalUrl = portalUrlOf(config);
  return {
    notify: async (notice) => {
      const to = notice.owner.trim();
      if (!EMAIL.test(to)) return { sent: false, reason: 'the owner is not an email address' };
      await sender.send({ to, ...ownerTaskEmail(notice, portalUrl) }, { idempotencyKey: notice.idempotencyKey });
      return { sent: true, via: 'email' };
    },
    close: () => sender.close(),
  };
}
