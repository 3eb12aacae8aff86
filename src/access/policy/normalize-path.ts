/**
 * Canonical form of a request path, so a `path` selector sees what the upstream will serve.
 * Every difference between how the policy and the upstream read a path is a bypass
 * (`/%61dmin`, `/public/../admin`, `//admin`), so the proxy must forward this same form.
 *
 * - query and fragment are cut off (they are not part of the path);
 * - percent-encoded unreserved characters are decoded, other escapes upper-cased
 *   (RFC 3986 §6.2.2.1 and §6.2.2.2);
 * - dot segments are removed (RFC 3986 §5.2.4) and empty segments (`//`) collapsed;
 * - refused (null): not starting with `/`, control or non-ASCII bytes, a raw backslash, a bad
 *   escape, and encoded `/`, `\` or NUL, which some upstreams decode into separators after we
 *   matched (CVE-2007-0450 class). Failing closed here costs only malformed requests.
 */

const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
/** RFC 3986 pchar plus `/` and `%`: everything else must arrive percent-encoded. */
const ALLOWED = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/%") ALLOWED[c.charCodeAt(0)] = 1;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * `stripParameters` (used for matching, not for forwarding) cuts `;parameters` from every segment
 * before dot segments are resolved, because Tomcat and Jetty serve `/admin;x=1` as `/admin` and
 * `/public/..;/admin` as `/admin`: the classic ways around a path block.
 */
export function normalizeRequestPath(raw: string, stripParameters = false): string | null {
  let end = raw.length;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 63 || c === 35) {
      end = i;
      break;
    }
  }
  if (end === 0 || raw.charCodeAt(0) !== 47) return null;
  // Fast path: already canonical (no escapes, no dot or empty segments) needs no rebuilding.
  let simple = true;
  for (let i = 0; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 128 || ALLOWED[c] === 0) return null;
    if (c === 37 || (c === 59 && stripParameters)) simple = false;
    else if (c === 47 && i + 1 < end) {
      const n = raw.charCodeAt(i + 1);
      if (n === 47 || n === 46) simple = false;
    }
  }
  if (simple) return end === raw.length ? raw : raw.slice(0, end);
  let decoded = '';
  for (let i = 0; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 37) {
      decoded += raw[i];
      continue;
    }
    const h = hexValue(raw.charCodeAt(i + 1));
    const l = hexValue(raw.charCodeAt(i + 2));
    if (i + 2 >= end || h < 0 || l < 0) return null;
    const byte = h * 16 + l;
    if (byte === 0x2f || byte === 0x5c || byte === 0) return null;
    decoded += byte < 128 && UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : `%${raw.slice(i + 1, i + 3).toUpperCase()}`;
    i += 2;
  }
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    let seg = segments[i]!;
    const semi = stripParameters ? seg.indexOf(';') : -1;
    if (semi >= 0) seg = seg.slice(0, semi);
    const last = i === segments.length - 1;
    if (seg === '..') out.pop();
    else if (seg !== '.' && seg !== '') out.push(seg);
    // A trailing `/`, `/.` or `/..` leaves the path pointing at a directory: keep the slash.
    if (last && (seg === '' || seg === '.' || seg === '..')) out.push('');
  }
  return `/${out.join('/')}`;
}
