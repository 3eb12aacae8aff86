import type { Amr } from '../identity/index.js';

/**
 * How a session was opened, in the words the portal uses everywhere (RFC 8176 method references):
 * a security key is a hardware authenticator (hwk), a passkey is a software one synced by a phone or
 * password manager (swk). The two are told apart because an app may require the first.
 */
export function signInMethodLabel(amr: readonly Amr[] | readonly string[]): string {
  const methods = new Set<string>(amr);
  if (methods.has('hwk')) return 'Security key';
  if (methods.has('swk')) return 'Passkey';
  if (methods.has('pwd') && methods.has('otp')) return 'Password + code';
  if (methods.has('pwd')) return 'Password';
  return 'Other';
}

/** The same words for a registered credential's class. */
export function credentialKindLabel(authenticatorClass: string, model: string | null | undefined): string {
  return authenticatorClass === 'hwk' ? (model ? `Security key (${model})` : 'Security key') : 'Passkey';
}
