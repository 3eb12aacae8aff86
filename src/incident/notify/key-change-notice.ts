import type { KeyChange } from '../alerts/key-change-watcher.js';
import type { EmailMessage } from './email-sender.js';

const WHAT: Record<KeyChange['kind'], string> = {
  enrollment: 'A first security key was registered to your account',
  'key.added': 'A security key was added to your account',
  'key.removed': 'A security key was removed from your account',
};

function facts(change: KeyChange): string[] {
  return [
    `Key: ${change.keyName ?? 'unnamed'}${change.model ? ` (${change.model})` : ''}`,
    `When: ${new Date(change.at).toISOString().replace('.000Z', 'Z')}`,
    `From address: ${change.ip ?? 'not recorded (an administrator or the command line)'}`,
    `Browser: ${change.userAgent ?? 'not recorded'}`,
    `By: ${change.actor ?? 'unknown'}`,
  ];
}

/**
 * The owner's notice. A key nobody expected is the trace of a phished session or a leaked enrollment
 * link turned into lasting access: the message says what happened and what to do, with no link to
 * click (a notice that teaches people to click links in security emails helps the next phisher).
 */
export function keyChangeEmail(change: KeyChange, context: { organisation: string; portalUrl: string }): Omit<EmailMessage, 'to'> {
  return {
    subject: `[${context.organisation}] ${WHAT[change.kind]}`,
    text: [
      `${WHAT[change.kind]}.`,
      '',
      ...facts(change),
      '',
      change.kind === 'key.removed'
        ? 'Sessions that key had opened were signed out.'
        : 'If this was you, there is nothing to do.',
      `If it was not you, tell your IT or security team now. You can review your keys by typing the portal's address yourself: ${context.portalUrl}/account`,
    ].join('\n'),
  };
}

/** The responders' alert: the same facts, for the webhook channel. */
export function keyChangeAlertText(change: KeyChange): string {
  return `:key: ${WHAT[change.kind]} ${change.email}: ${facts(change).join('; ')}.`;
}
