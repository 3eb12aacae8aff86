import { generateRegistrationOptions, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { SUPPORTED_ALGORITHM_IDS } from './supported-algorithms.js';
import type { RelyingParty, ResidentKey, UserVerification } from './webauthn-settings.js';

export interface BuildRegistrationOptionsInput {
  readonly rp: RelyingParty;
  readonly user: {
    /** Opaque user handle, at most 64 bytes, no personal data in it (WebAuthn L3 §5.4.3). */
    readonly id: Uint8Array;
    readonly name: string;
    readonly displayName: string;
  };
  /** The user's existing credentials, so the same authenticator is not registered twice. */
  readonly excludeCredentials?: readonly { readonly id: string; readonly transports?: readonly string[] }[];
  /** Fresh random bytes from the injected Random (at least 16, §13.4.3); the caller stores them. */
  readonly challenge: Uint8Array;
  readonly userVerification: UserVerification;
  readonly residentKey: ResidentKey;
  readonly attestation: 'direct' | 'none';
  readonly timeoutMs: number;
}

/** PublicKeyCredentialCreationOptionsJSON for @simplewebauthn/browser's startRegistration(). */
export async function buildRegistrationOptions(input: BuildRegistrationOptionsInput): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { rp, user, challenge } = input;
  if (challenge.length < 16) throw new RangeError('WebAuthn challenge must be at least 16 random bytes');
  if (user.id.length < 1 || user.id.length > 64) throw new RangeError('WebAuthn user.id must be 1 to 64 bytes');
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userID: new Uint8Array(user.id),
    userName: user.name,
    userDisplayName: user.displayName,
    challenge: new Uint8Array(challenge),
    timeout: input.timeoutMs,
    // "direct" lets verifyRegistration prove the key model (hwk); the browser may still send "none".
    attestationType: input.attestation,
    excludeCredentials: (input.excludeCredentials ?? []).map((credential) => ({
      id: credential.id,
      ...(credential.transports ? { transports: [...credential.transports] } : {}),
    })),
    // A fresh object each call: the library writes requireResidentKey into it.
    authenticatorSelection: { residentKey: input.residentKey, userVerification: input.userVerification },
    supportedAlgorithmIDs: [...SUPPORTED_ALGORITHM_IDS],
  });
}
