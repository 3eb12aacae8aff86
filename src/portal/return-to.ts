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
