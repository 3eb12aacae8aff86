import { HANDSHAKE_STATE_COOKIE } from '../lib/gatehouse-cookie-names.js';

/** The cookies the proxy sets on an app host, and the attributes they carry. */
export interface AppCookieNames {
  /** The app session cookie. */
  session: string;
  /** Ties a handshake callback to the browser that started it (OAuth 2.0 `state`, RFC 6749 §10.12). */
  handshakeState: string;
  /** Set on https origins: a cookie without it would be sent over a plain-http connection to the host. */
  secure: boolean;
}

export { HANDSHAKE_STATE_COOKIE };

/**
 * On https the names carry the `__Host-` prefix (RFC 6265bis §4.1.3.2): the browser then accepts the
 * cookie only with Secure, Path=/ and no Domain, so a sibling subdomain or a plain-http response
 * cannot plant or overwrite it (cookie tossing). Plain-http development hosts (`*.localhost`) keep
 * the bare names, since the prefix requires Secure.
 */
export function appCookieNamesOf(appOrigin: string, sessionCookieName: string): AppCookieNames {
  const secure = appOrigin.startsWith('https:');
  const prefix = secure ? '__Host-' : '';
  return { session: `${prefix}${sessionCookieName}`, handshakeState: `${prefix}${HANDSHAKE_STATE_COOKIE}`, secure };
}

/** Set-Cookie for a cookie on an app host: host-only, Path=/, HttpOnly, Lax, Secure on https. */
export function appCookie(name: string, value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}
