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
 *
 * This runs on every proxied request, so it is one pass over the characters for a path that is
 * already canonical, and the rebuilding pass works on index ranges rather than split/join.
 */

const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
/** RFC 3986 pchar plus `/` and `%`: everything else must arrive percent-encoded. */
const ALLOWED = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/%") ALLOWED[c.charCodeAt(0)] = 1;
/** `%XX` with upper-case hex for every byte (RFC 3986 §6.2.2.1), built once instead of per escape. */
const ESCAPES = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);

const SLASH = 47;
const DOT = 46;
const PERCENT = 37;
const SEMICOLON = 59;
const QUESTION = 63;
const HASH = 35;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes escapes in `raw[0, end)`; null for a malformed or forbidden escape. */
function decodeEscapes(raw: string, end: number, firstPercent: number): string | null {
  let decoded = '';
  let from = 0;
  for (let i = firstPercent; i < end; i++) {
    if (raw.charCodeAt(i) !== PERCENT) continue;
    const h = hexValue(raw.charCodeAt(i + 1));
    const l = hexValue(raw.charCodeAt(i + 2));
    if (i + 2 >= end || h < 0 || l < 0) return null;
    const byte = h * 16 + l;
    if (byte === 0x2f || byte === 0x5c || byte === 0) return null;
    decoded += raw.slice(from, i);
    decoded += byte < 128 && UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : ESCAPES[byte]!;
    i += 2;
    from = i + 1;
  }
  return decoded + raw.slice(from, end);
}

/** Segment ranges of the output, reused: normalisation is synchronous and never re-entered. */
let segmentStarts = new Int32Array(64);
let segmentEnds = new Int32Array(64);

/** RFC 3986 §5.2.4 over `decoded` (which starts with "/"), plus empty-segment collapsing. */
function removeDotSegments(decoded: string, stripParameters: boolean): string {
  const length = decoded.length;
  if (segmentStarts.length < length) {
    segmentStarts = new Int32Array(length);
    segmentEnds = new Int32Array(length);
  }
  const starts = segmentStarts;
  const ends = segmentEnds;
  let n = 0;
  let start = 1;
  for (;;) {
    let stop = start;
    let cut = -1;
    while (stop < length) {
      const c = decoded.charCodeAt(stop);
      if (c === SLASH) break;
      if (c === SEMICOLON && cut < 0 && stripParameters) cut = stop;
      stop++;
    }
    const segEnd = cut < 0 ? stop : cut;
    const segLength = segEnd - start;
    const dot = segLength === 1 && decoded.charCodeAt(start) === DOT;
    const dotDot = segLength === 2 && decoded.charCodeAt(start) === DOT && decoded.charCodeAt(start + 1) === DOT;
    if (dotDot) {
      if (n > 0) n--;
    } else if (!dot && segLength !== 0) {
      starts[n] = start;
      ends[n] = segEnd;
      n++;
    }
    if (stop === length) {
      // A trailing `/`, `/.` or `/..` leaves the path pointing at a directory: keep the slash.
      if (segLength === 0 || dot || dotDot) {
        starts[n] = 0;
        ends[n] = 0;
        n++;
      }
      break;
    }
    start = stop + 1;
  }
  let out = '';
  for (let k = 0; k < n; k++) out += k === 0 ? decoded.slice(starts[k]!, ends[k]!) : `/${decoded.slice(starts[k]!, ends[k]!)}`;
  return `/${out}`;
}

/**
 * `stripParameters` (used for matching, not for forwarding) cuts `;parameters` from every segment
 * before dot segments are resolved, because Tomcat and Jetty serve `/admin;x=1` as `/admin` and
 * `/public/..;/admin` as `/admin`: the classic ways around a path block.
 */
export function normalizeRequestPath(raw: string, stripParameters = false): string | null {
  const length = raw.length;
  if (length === 0 || raw.charCodeAt(0) !== SLASH) return null;
  let end = length;
  let firstPercent = -1;
  // Already canonical (no escapes, no parameters to cut, no dot or empty segments) needs no rebuilding.
  let simple = true;
  let previous = SLASH;
  for (let i = 1; i < length; i++) {
    const c = raw.charCodeAt(i);
    if (c === QUESTION || c === HASH) {
      end = i;
      break;
    }
    if (c >= 128 || ALLOWED[c] === 0) return null;
    if (c === PERCENT) {
      if (firstPercent < 0) firstPercent = i;
      simple = false;
    } else if ((c === SEMICOLON && stripParameters) || (previous === SLASH && (c === SLASH || c === DOT))) {
      simple = false;
    }
    previous = c;
  }
  if (simple) return end === length ? raw : raw.slice(0, end);
  const decoded = firstPercent < 0 ? raw.slice(0, end) : decodeEscapes(raw, end, firstPercent);
  return decoded === null ? null : removeDotSegments(decoded, stripParameters);
}
