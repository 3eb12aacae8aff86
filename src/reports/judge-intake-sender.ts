/**
 * Who an intake message is from, as far as the intake can know. An SMTP envelope sender (MAIL FROM)
 * and a From: header are claims anyone can write: a message naming three colleagues is three forged
 * lines away. A claim becomes a reporter (counted towards escalation, thanked by email) only when the
 * deployment vouches for it: `trust_sender` is on (a relay that enforces DMARC on the organisation's
 * domain sits in front), the connection comes from one of its `trusted_relays`, the From: header
 * agrees with the envelope, and the address names a directory user. Anything else is anonymous: kept
 * as a claim for the audit log, counting zero.
 */
export type IntakeSender =
  | { identified: true; reporter: string }
  | { identified: false; claimed: string | undefined; why: 'sender_not_trusted' | 'relay_not_trusted' | 'sender_mismatch' | 'sender_unknown' };

export interface IntakeSenderPolicy {
  trustSender: boolean;
  isTrustedRelay: (address: string) => boolean;
  isKnownUser: (email: string) => Promise<boolean>;
}

export async function judgeIntakeSender(
  claim: { envelopeFrom: string | undefined; headerFrom: string | undefined; remoteAddress: string | undefined },
  policy: IntakeSenderPolicy,
): Promise<IntakeSender> {
  const claimed = claim.headerFrom ?? claim.envelopeFrom;
  if (!policy.trustSender) return { identified: false, claimed, why: 'sender_not_trusted' };
  if (!claim.remoteAddress || !policy.isTrustedRelay(claim.remoteAddress)) return { identified: false, claimed, why: 'relay_not_trusted' };
  if (claim.headerFrom === undefined || claim.headerFrom !== claim.envelopeFrom) return { identified: false, claimed, why: 'sender_mismatch' };
  if (!(await policy.isKnownUser(claim.headerFrom))) return { identified: false, claimed, why: 'sender_unknown' };
  return { identified: true, reporter: claim.headerFrom };
}

/** The reason an anonymous intake message is refused when `reports.allow_anonymous` is off (an SMTP reply text). */
export function anonymousRefusalText(sender: Extract<IntakeSender, { identified: false }>): string {
  switch (sender.why) {
    case 'sender_not_trusted':
      return 'anonymous reports are not accepted here, and this intake does not identify senders';
    case 'relay_not_trusted':
      return 'anonymous reports are not accepted here; forward through your organisation\'s mail server';
    case 'sender_mismatch':
      return 'anonymous reports are not accepted here; the From: header does not match the envelope sender';
    case 'sender_unknown':
      return 'anonymous reports are not accepted here; the sender is not a known user';
  }
}
