import { returnPathRefusalOf } from '../lib/return-path-refusal.js';

/**
 * Where to send the browser after sign-in. Only paths on the portal itself or configured app hosts:
 * an open redirect would let a phishing mail route a fresh session anywhere.
 */
export function safeReturnTo(raw: unknown, isAllowedAbsolute: (url: URL) => boolean, fallback = '/account'): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) return fallback;
  // One rule with the app handshake: no "//evil", "/\evil", "/%09/evil", Unicode spaces or controls.
  if (raw.startsWith('/')) return returnPathRefusalOf(raw) === null ? raw : fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fallback;
  }
  if ((url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && isAllowedAbsolute(url)) return url.toString();
  return fallback;
}

/**
 * What a return_to leads to, in words for the sign-in page's heading: an app's name (the handshake
 * names it, or its host does), the command line, or nothing for the portal's own pages. Only for
 * display: the address was already checked by safeReturnTo.
 */
export function destinationOf(returnTo: string, portalUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(returnTo, portalUrl);
  } catch {
    return undefined;
  }
  if (url.origin !== new URL(portalUrl).origin) return url.hostname;
  if (url.pathname === '/handshake') return url.searchParams.get('app') ?? undefined;
  if (url.pathname.startsWith('/cli/')) return 'the Gatehouse command line';
  return undefined;
}
