/**
 * The words a reporter reads. Reporting must feel right even when the message was harmless: people
 * who are thanked report again; people who are told "that was fine" learn to stop. The lure is
 * never quoted back (a hostile report must not turn the thank-you into a delivery vehicle).
 */
export function thankYouText(input: { organisation: string; harmless: boolean; mistake?: boolean }): { subject: string; text: string } {
  if (input.mistake) {
    return {
      subject: 'Thank you: we will look at the block',
      text: `Thank you for telling us. A person on the ${input.organisation} security team will look at whether this block is a mistake. Until then, please do not work around it.`,
    };
  }
  if (input.harmless) {
    return {
      subject: 'Thank you for your report',
      text: `Thank you for reporting this. We checked it and it looks harmless this time, and sending it to us was exactly the right thing to do. Please keep reporting anything that feels off: most reports are harmless, and the one that is not is why we ask. — ${input.organisation} security`,
    };
  }
  return {
    subject: 'Thank you for your report',
    text: `Thank you for reporting this: it is exactly what helps. We are looking at it now and will act on it if it is malicious. If you clicked a link or typed a password, tell us right away; nobody will blame you. — ${input.organisation} security`,
  };
}

/** One line an email address must match before Gatehouse writes a message to it (no header injection). */
export const SAFE_ADDRESS = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
