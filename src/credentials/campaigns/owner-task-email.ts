import type { OwnerTaskNotice } from './owner-tasks.js';

/**
 * The mail to an owner: which credential, which campaign and why, what to do, and the one-time link.
 * Plain text (no HTML to spoof a button with); it says what the page will ask for, so an owner who is
 * asked for a password or a code instead knows the page is not ours.
 */
export function ownerTaskEmail(notice: OwnerTaskNotice, portalUrl: string): { subject: string; text: string } {
  const link = `${portalUrl.replace(/\/$/, '')}${notice.linkPath}`;
  return {
    subject: `Action needed: rotate ${notice.itemName} (${notice.system})`,
    text: [
      `You are listed as the owner of the credential "${notice.itemName}" (${notice.kind}) on ${notice.system}.`,
      '',
      `The rotation campaign "${notice.campaignReason}" (${notice.campaignId}) must replace it, and Gatehouse could not do it for you: ${notice.why}.`,
      '',
      'What to do:',
      '1. Rotate or revoke the credential in that system, and check that the OLD one is refused.',
      '2. Open the link below, sign in with your security key or passkey, and say what you did and how you checked it.',
      '   A second person (an administrator) approves it afterwards; until then the campaign stays open.',
      '',
      link,
      '',
      'The link works once and only for you. Do not forward it. The page will ask you to touch your security key;',
      'it will never ask for a password or a code. If you did not expect this, tell your security team.',
    ].join('\n'),
  };
}
