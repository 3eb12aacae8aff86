import { CSRF_COOKIE } from '../lib/gatehouse-cookie-names.js';

/**
 * Names of the portal's own cookies. Over https they carry the `__Host-` prefix (RFC 6265bis
 * §4.1.3.2): the browser accepts such a cookie only with Secure, Path=/ and no Domain, so a sibling
 * subdomain (an app host, a compromised marketing site) cannot toss a Domain cookie of the same name
 * onto the portal to fix a session or a CSRF token. Plain-http development keeps the bare names: the
 * prefix requires Secure.
 */

/** Both spellings, for the proxy to strip before a request reaches an app. */
export const CSRF_COOKIE_NAMES: readonly string[] = [CSRF_COOKIE, `__Host-${CSRF_COOKIE}`];

export function portalSessionCookieNameOf(configuredName: string, secure: boolean): string {
  return secure ? `__Host-${configuredName}` : configuredName;
}

export function csrfCookieNameOf(secure: boolean): string {
  return secure ? `__Host-${CSRF_COOKIE}` : CSRF_COOKIE;
}
