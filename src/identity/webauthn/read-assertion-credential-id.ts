import { parseAuthenticationResponse } from './parse-credential-response.js';

export interface AssertionIdentity {
  /** base64url credential ID to look the stored credential up by. */
  readonly credentialId: string;
  /** user.id the authenticator returned (discoverable credentials), if any. */
  readonly userHandle: Uint8Array | undefined;
}

/**
 * Reads which credential an untrusted sign-in response claims to be, so the caller can fetch it
 * before verifyAuthentication. Nothing here is verified yet: use it as a lookup key only.
 * Throws webauthn_malformed when the body is not a well-formed response.
 */
export function readAssertionCredentialId(response: unknown): AssertionIdentity {
  const parsed = parseAuthenticationResponse(response);
  return { credentialId: parsed.credentialId, userHandle: parsed.userHandle };
}
