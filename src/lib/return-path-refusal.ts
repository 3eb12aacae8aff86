/**
 * Why a same-host return path (where a browser goes after sign-in) is unsafe, or null when it is a
 * plain path. Browsers read `//evil.example` and `/\evil.example` as another host (WHATWG URL,
 * "special authority slashes"), strip tab and newline anywhere in a URL, and some app frameworks
 * decode `%09`/`%2F` before redirecting again, so `/%09/evil.example` becomes `//evil.example` one hop
 * later. Any Unicode space or control character is refused outright: it has no place in a path that
 * came from a request line, and in a Location header node would throw (a 500 instead of a 400).
 */
const UNSAFE_RAW = /[\p{Cc}\p{Cf}\p{Z}\\]/u;
const UNSAFE_DECODED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\]/u;

export type ReturnPathRefusal = 'return_path_not_string' | 'return_path_too_long' | 'return_path_not_absolute_path' | 'return_path_unsafe_character' | 'return_path_other_host';

export function returnPathRefusalOf(raw: unknown): ReturnPathRefusal | null {
  if (typeof raw !== 'string') return 'return_path_not_string';
  if (raw.length > 2048) return 'return_path_too_long';
  if (UNSAFE_RAW.test(raw)) return 'return_path_unsafe_character';
  if (!raw.startsWith('/')) return 'return_path_not_absolute_path';
  if (raw.startsWith('//')) return 'return_path_other_host';
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // A malformed escape is not decoded by anyone downstream either; judge the raw form.
  }
  if (UNSAFE_DECODED.test(decoded)) return 'return_path_unsafe_character';
  if (/^\/[/\s]/u.test(decoded)) return 'return_path_other_host';
  return null;
}
