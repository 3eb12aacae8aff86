import { timingSafeEqual } from 'node:crypto';
import { checkAuthenticatorData } from './check-authenticator-data.js';
import { checkClientData } from './check-client-data.js';
import { checkSignatureEncoding } from './check-signature-encoding.js';
import { parseAuthenticationResponse } from './parse-credential-response.js';
import { verifyAssertionSignature } from './verify-assertion-signature.js';
import { webauthnError, WebauthnErrorCode } from './webauthn-errors.js';
import type { RelyingParty } from './webauthn-settings.js';

/** A stored credential, as verifyRegistration returned it. */
export interface StoredCredential {
  /** base64url credential ID. */
  readonly id: string;
  /** COSE_Key bytes. */
  readonly publicKey: Uint8Array;
  /** Last signature counter seen (WebAuthn L3 §6.1.1). */
  readonly counter: number;
  /** user.id (user handle) the credential was registered for; checked against response.userHandle. */
  readonly userId?: Uint8Array;
}

export interface VerifyAuthenticationInput {
  /** The body posted by startAuthentication(), as parsed JSON or as a JSON string. Untrusted. */
  readonly response: unknown;
  readonly expectedChallenge: Uint8Array;
  readonly rp: RelyingParty;
  /** The credential the caller looked up by the response's id (see readAssertionCredentialId). */
  readonly credential: StoredCredential;
  readonly requireUserVerification: boolean;
  /**
   * Discoverable sign-in (empty allowCredentials): the user was not identified before the ceremony,
   * so the response must carry a userHandle and it must equal credential.userId (§7.2 step 6).
   */
  readonly requireUserHandle?: boolean;
}

export interface VerifiedAuthentication {
  readonly credentialId: string;
  /** Store this as the credential's counter. */
  readonly newCounter: number;
  readonly userVerified: boolean;
  readonly backedUp: boolean;
  readonly deviceType: 'singleDevice' | 'multiDevice';
}

/** WebAuthn L3 §7.2: verify an authentication assertion for a credential the caller looked up. */
export async function verifyAuthentication(input: VerifyAuthenticationInput): Promise<VerifiedAuthentication> {
  const { rp, credential } = input;
  const parsed = parseAuthenticationResponse(input.response);
  if (parsed.credentialId !== credential.id) {
    throw webauthnError('authentication', WebauthnErrorCode.unknownCredential, 'response id is not the looked-up credential');
  }
  const expectedChallenge = Buffer.from(input.expectedChallenge).toString('base64url');
  checkClientData('authentication', parsed.clientDataJSON, { type: 'webauthn.get', challenge: expectedChallenge, origins: rp.origins });
  const authenticatorData = checkAuthenticatorData('authentication', parsed.authenticatorData, {
    rpId: rp.id,
    requireUserVerification: input.requireUserVerification,
  });

  checkSignatureEncoding(credential.publicKey, parsed.signature);
  verifyAssertionSignature(credential.id, credential.publicKey, parsed.authenticatorData, parsed.clientDataJSON, parsed.signature);
  checkUserHandle(parsed.userHandle, credential.userId, input.requireUserHandle === true);
  const newCounter = authenticatorData.counter;
  // §6.1.1: authenticators without a counter always send 0; otherwise it must grow. A counter that
  // did not grow means two copies of the private key exist (cloned authenticator).
  if ((newCounter !== 0 || credential.counter !== 0) && newCounter <= credential.counter) {
    throw webauthnError(
      'authentication',
      WebauthnErrorCode.counterRegression,
      `signature counter ${newCounter} is not greater than stored ${credential.counter}: possible cloned authenticator`,
    );
  }
  return {
    credentialId: credential.id,
    newCounter,
    userVerified: authenticatorData.flags.uv,
    backedUp: authenticatorData.flags.bs,
    deviceType: authenticatorData.flags.be ? 'multiDevice' : 'singleDevice',
  };
}

function checkUserHandle(userHandle: Uint8Array | undefined, owner: Uint8Array | undefined, required: boolean): void {
  if (userHandle === undefined) {
    if (required) throw webauthnError('authentication', WebauthnErrorCode.userHandleMismatch, 'discoverable sign-in without userHandle');
    return;
  }
  if (owner === undefined) {
    if (required) throw new Error('verifyAuthentication: requireUserHandle needs credential.userId');
    return;
  }
  if (userHandle.length !== owner.length || !timingSafeEqual(userHandle, owner)) {
    throw webauthnError('authentication', WebauthnErrorCode.userHandleMismatch, 'userHandle is not the credential owner');
  }
}
