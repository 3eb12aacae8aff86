/**
 * Where to send the browser after sign-in. Only paths on the portal itself or configured app hosts:
 * an open redirect would let a phishing mail route a fresh session anywhere.
 */
export function safeReturnTo(raw: unknown, isAllowedAbsolute: (url: URL) => boolean, fallback = '/account'): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) return fallback;
  // "//evil.com" and "/\evil.com" are protocol-relative in browsers; control characters can split.
  if (raw.startsWith('/') && !raw.startsWith('//') && !raw.startsWith('/\\') && !/[\u0000-\u001f\\]/.test(raw)) return raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fallback;
  }
  if ((url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && isAllowedAbsolute(url)) return url.toString();
  return fallback;
}
