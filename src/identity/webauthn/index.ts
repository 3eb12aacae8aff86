/**
 * WebAuthn ceremonies: the one module that talks to @simplewebauthn/server. Stateless: callers
 * store challenges (single use, timeoutMs lifetime) and credentials.
 */
export { buildRegistrationOptions, type BuildRegistrationOptionsInput } from './build-registration-options.js';
export { buildAuthenticationOptions, type BuildAuthenticationOptionsInput } from './build-authentication-options.js';
export {
  verifyRegistration,
  type RegistrationPolicy,
  type VerifyRegistrationInput,
  type VerifiedRegistration,
} from './verify-registration.js';
export {
  verifyAuthentication,
  type StoredCredential,
  type VerifyAuthenticationInput,
  type VerifiedAuthentication,
} from './verify-authentication.js';
export { readAssertionCredentialId, type AssertionIdentity } from './read-assertion-credential-id.js';
export { newChallenge, CHALLENGE_BYTES } from './new-challenge.js';
export type { AuthenticatorClass } from './classify-authenticator.js';
export { WebauthnErrorCode, type WebauthnErrorCodeValue } from './webauthn-errors.js';
export {
  webauthnSettingsFromConfig,
  type RelyingParty,
  type ResidentKey,
  type TrustedAuthenticatorModel,
  type UserVerification,
  type WebauthnSettings,
} from './webauthn-settings.js';
export type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
