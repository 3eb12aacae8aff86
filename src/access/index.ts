/**
 * Public surface of the access capability: the identity-aware gateway in front of the apps, built
 * from the config snapshot, and the run-time IP blocks it applies before any app policy. The policy
 * engine and the proxy are sub-capabilities with their own faces (`access/policy`, `access/proxy`).
 */
export { buildAccess, type AccessLayer, type BuildAccessOptions } from './build-access.js';
export { ACCESS_RESTART_ONLY_KEYS } from './access-restart-only-keys.js';
export { IpBlocks, IP_FEED, tooWideToBlock } from './ip-blocks.js';
export { answerJwksOnAnyHost, JWKS_PATH } from './jwks-on-any-host.js';
