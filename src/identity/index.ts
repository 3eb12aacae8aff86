export { IdentityService, type IdentityServiceOptions } from './identity-service.js';
export type { IdentitySettings, RequestContext } from './identity-context.js';
export { SessionManager, SESSION_FEED, type SessionView, type SessionRow, type Amr, type SessionTimeouts, type RevokeUsersOptions } from './sessions.js';
export { keyProofRefusal, type KeyProofRefusals } from './recent-key-proof.js';
export type { User } from './user-directory.js';
export { normaliseEmail } from './user-directory.js';
export type { StoredCredential } from './credential-registry.js';
export { LegacyFactors, OWASP_ARGON2ID, type PasswordHashing } from './legacy-factors.js';
export { webauthnSettingsFromConfig, WebauthnErrorCode } from './webauthn/index.js';
