import { GatehouseError } from '../../lib/errors.js';

/**
 * Stable codes for every way a WebAuthn ceremony can fail. Callers (audit log, hunts, tests) branch on
 * these, never on message text; the client only ever sees the generic public message.
 */
export const WebauthnErrorCode = {
  /** Base64url, JSON, CBOR or structure is not what a browser produces. */
  malformed: 'webauthn_malformed',
  /** clientDataJSON.type is not the one this ceremony expects (e.g. a create response replayed as get). */
  typeMismatch: 'webauthn_type_mismatch',
  /** clientDataJSON.challenge is not the challenge the server issued for this ceremony. */
  challengeMismatch: 'webauthn_challenge_mismatch',
  /** clientDataJSON.origin is not in the exact configured list: a phishing relay or a stray subdomain. */
  originMismatch: 'webauthn_origin_mismatch',
  /** The ceremony ran inside a cross-origin iframe (crossOrigin true or topOrigin present). */
  crossOrigin: 'webauthn_cross_origin',
  /** authenticatorData.rpIdHash is not SHA-256 of our RP ID: the key signed for another relying party. */
  rpIdMismatch: 'webauthn_rp_id_mismatch',
  userNotPresent: 'webauthn_user_not_present',
  userNotVerified: 'webauthn_user_not_verified',
  /** The credential's public key algorithm is not ES256, EdDSA or RS256. */
  unsupportedAlgorithm: 'webauthn_unsupported_algorithm',
  /** The attestation statement does not verify (bad signature, bad certificate, AAGUID mismatch). */
  attestationInvalid: 'webauthn_attestation_invalid',
  /** The assertion signature does not verify with the stored public key. */
  badSignature: 'webauthn_bad_signature',
  /** Signature counter did not increase: possible cloned authenticator (WebAuthn L3 §6.1.1, §7.2 step 22). */
  counterRegression: 'webauthn_counter_regression',
  /** The response names a credential other than the one the caller looked up, or none we know. */
  unknownCredential: 'webauthn_unknown_credential',
  /** userHandle is missing (discoverable sign-in) or names another user than the credential's owner. */
  userHandleMismatch: 'webauthn_user_handle_mismatch',
} as const;

export type WebauthnErrorCodeValue = (typeof WebauthnErrorCode)[keyof typeof WebauthnErrorCode];

export type WebauthnCeremony = 'registration' | 'authentication';

const PUBLIC_MESSAGE: Record<WebauthnCeremony, string> = {
  authentication: 'Sign-in failed. Try again.',
  registration: 'Security key registration failed. Try again.',
};

/** Bad input is 400; a well-formed response that fails a security check is 401. */
const BAD_REQUEST: ReadonlySet<string> = new Set([WebauthnErrorCode.malformed, WebauthnErrorCode.unsupportedAlgorithm]);

export function webauthnError(
  ceremony: WebauthnCeremony,
  code: WebauthnErrorCodeValue,
  detail: string,
  cause?: unknown,
): GatehouseError {
  return new GatehouseError(code, {
    status: BAD_REQUEST.has(code) ? 400 : 401,
    publicMessage: PUBLIC_MESSAGE[ceremony],
    detail,
    cause,
  });
}
