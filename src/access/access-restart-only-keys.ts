import type { RestartOnlyKey } from '../lib/restart-only-changes.js';

/** Settings the access capability reads once at start; everything else it applies in `reload`. */
export const ACCESS_RESTART_ONLY_KEYS: readonly RestartOnlyKey[] = [
  { path: 'access.jwt_ttl_seconds', reason: 'the identity assertion issuer and the signing key ring are sized once, at start' },
  // The proxy strips Gatehouse cookies by name; a renamed cookie would otherwise reach apps until restart.
  { path: 'access.session_cookie_name', reason: 'the proxy learns which cookies to strip at start' },
  { path: 'sessions.cookie_name', reason: 'the proxy learns which cookies to strip at start' },
  { path: 'server.public_url', reason: 'the identity assertion issuer (iss) is fixed at start' },
  { path: 'server.portal_host', reason: 'the identity assertion issuer (iss) is fixed at start' },
];
