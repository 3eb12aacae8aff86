/**
 * Service tokens: machine-to-machine credentials (a public client id and a 256-bit secret sent as two
 * request headers) with an owner, the apps they may reach, a mandatory expiry, rotation with an
 * overlap or in emergency, suspension and revocation, and last use recorded from actual use.
 *
 * The attacker, and what stops each move (every line has a test asserting its code):
 * - A secret leaked in a CI log or a ticket: it works only for the apps the token names
 *   (`service_token_app_not_allowed`), only until its expiry (`service_token_expired`, the maximum is
 *   `service_tokens.max_ttl_days`), and an emergency rotation, revocation or suspension cuts it off on
 *   every instance as soon as the change-feed row arrives (`service_token_bad_secret`,
 *   `service_token_revoked`, `service_token_suspended`). Its prefix (`gh-secret-`) lets secret
 *   scanners find it in logs. Its first use from a new network is found when use is written and
 *   reported through `onAnomalies` (incident response alerts on it).
 * - A stolen database backup: it holds SHA-256 digests only. The secrets are 256 random bits, so there
 *   is no dictionary to try and a slow hash or a server-keyed HMAC would add nothing an attacker must
 *   overcome; presenting a digest as a secret fails (`service_token_bad_secret`). The digests travel
 *   in change-feed rows (same database, same exposure) but never in the audit log or any log line.
 * - A token believed unused (how the 2023 intrusion got in: one unrotated service token): every token
 *   expires, `tokens list` shows when, from where and on which app each was last used, and a use of
 *   a token marked believed-unused is the first anomaly `detectUseAnomalies` reports: found when the
 *   use is written (`onAnomalies`), alerted by incident response and, by default, the token suspended
 *   until an admin resumes it (`service_tokens.anomalies.suspend_on`).
 * - A hostile client sending headers: the verifier accepts exactly one shape per header (length first,
 *   then an ASCII pattern) before hashing anything: huge values, repeated headers (joined with ", "),
 *   non-ASCII and empty values are `service_token_malformed`. The user agent kept for display is
 *   truncated and stripped of control characters. The app comes from the proxy's routing, never from
 *   the client.
 * - Someone timing the comparison: digests are compared with `crypto.timingSafeEqual`, always twice
 *   (current and previous secret), and an unknown client id is hashed and compared against a random
 *   dummy digest, so a known id and an unknown one cost the same (`service_token_unknown` vs
 *   `service_token_bad_secret` reach only the audit log; the client sees one generic message).
 * - Someone with the client id alone: the secret is checked before status, expiry or app, so a refusal
 *   tells nothing about the token's state even in the audit log's codes.
 */
export { createServiceTokens, serviceTokenSettingsOf, type BulkRevocation, type TokenScope, type CreateServiceTokenInput, type IssuedServiceToken, type RotateOptions, type ServiceTokens, type ServiceTokenSettings, type ServiceTokensOptions } from './create-service-tokens.js';
export { createServiceTokenVerifier, type ServiceTokenIdentity, type ServiceTokenPresentation, type ServiceTokenVerdict, type ServiceTokenVerifier } from './service-token-verifier.js';
export { createServiceTokenUseRecorder, type OnUseAnomalies, type ServiceTokenLogger, type ServiceTokenUse, type ServiceTokenUseRecorder, type TokenUseAnomalies } from './service-token-use-recorder.js';
export { SERVICE_TOKEN_ERRORS, SERVICE_TOKEN_PUBLIC_MESSAGE, SERVICE_TOKEN_REFUSALS, type ServiceTokenRefusal } from './service-token-codes.js';
export { CLIENT_ID_PREFIX, SECRET_PREFIX, SERVICE_TOKEN_HEADERS, isWellFormedClientId, isWellFormedSecret } from './service-token-format.js';
export { SERVICE_TOKEN_FEED, type ServiceTokenEventType } from './service-token-repository.js';
export { serviceTokenStatesOf } from './service-token-feed.js';
export type { ServiceTokenRecord, ServiceTokenState, ServiceTokenStatus } from './service-token-state.js';
export {
  detectBatchAnomalies,
  detectUseAnomalies,
  type BatchHistory,
  type BatchSighting,
  type ObservedAnomaly,
  type TokenUseHistory,
  type UseAnomaly,
  type UseAnomalyKind,
  type UseAnomalySettings,
  type UseBatch,
} from './detect-use-anomalies.js';
export type { TokenIdentityForAlert } from './read-use-history.js';
export { networkOf } from './network-of.js';
export { serviceTokenHeadersOf, stripServiceTokenHeaders } from './service-token-headers.js';
export { presentedServiceTokenOf, serviceTokenBearerOf, SERVICE_TOKEN_BEARER_SEPARATOR, type PresentedServiceToken } from './service-token-credentials.js';
export { serviceTokenRefusalEvent } from './service-token-audit-event.js';
