import { generateAuthenticationOptions, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { RelyingParty, UserVerification } from './webauthn-settings.js';

export interface BuildAuthenticationOptionsInput {
  readonly rp: RelyingParty;
  /** Fresh random bytes from the injected Random (at least 16, §13.4.3); the caller stores them. */
  readonly challenge: Uint8Array;
  /**
   * Username-first sign-in: the user's credentials. Empty or absent: discoverable sign-in, the
   * authenticator offers its passkeys for our RP ID and returns the userHandle.
   */
  readonly allowCredentials?: readonly { readonly id: string; readonly transports?: readonly string[] }[];
  readonly userVerification: UserVerification;
  readonly timeoutMs: number;
}

/** PublicKeyCredentialRequestOptionsJSON for @simplewebauthn/browser's startAuthentication(). */
export async function buildAuthenticationOptions(input: BuildAuthenticationOptionsInput): Promise<PublicKeyCredentialRequestOptionsJSON> {
  if (input.challenge.length < 16) throw new RangeError('WebAuthn challenge must be at least 16 random bytes');
  const allow = input.allowCredentials ?? [];
  return generateAuthenticationOptions({
    rpID: input.rp.id,
    challenge: new Uint8Array(input.challenge),
    timeout: input.timeoutMs,
    userVerification: input.userVerification,
    ...(allow.length > 0
      ? {
          allowCredentials: allow.map((credential) => ({
            id: credential.id,
            ...(credential.transports ? { transports: [...credential.transports] } : {}),
          })),
        }
      : {}),
  });
}
