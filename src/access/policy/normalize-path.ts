/**
 * Canonical form of a request path, so a `path` selector sees what the upstream will serve.
 * Every difference between how the policy and the upstream read a path is a bypass
 * (`/%61dmin`, `/public/../admin`, `//admin`), so the proxy forwards this same form, byte for byte.
 *
 * - query and fragment are cut off (they are not part of the path);
 * - percent-encoded unreserved characters are decoded, other escapes upper-cased
 *   (RFC 3986 §6.2.2.1 and §6.2.2.2);
 * - dot segments are removed (RFC 3986 §5.2.4) and empty segments (`//`) collapsed;
 * - refused, with a stable code (PathRefusal), is every shape that some upstream routes differently
 *   from this canonical form. Failing closed costs little: browsers send such paths only when an app
 *   writes them into its links (`;jsessionid=`, see docs/operations.md);
 * - for matching only, ASCII letters are lower-cased unless the app compares case (matchedPathOf).
 *
 * This runs on every proxied request, so it is one pass over the characters for a path that is
 * already canonical, and the rebuilding pass works on index ranges rather than split/join.
 */

/** Why a path is refused (the `code` of the 400, and the detail of a `path_invalid` decision). */
export type PathRefusal =
  /** Empty, or not starting with `/` (asterisk-form, or absolute-form not converted first). */
  | 'path_not_origin_form'
  /** RFC 3986 §3.3: a control byte, space, non-ASCII byte or other character that must be percent-encoded. */
  | 'path_invalid_character'
  /** `%` not followed by two hex digits. */
  | 'path_invalid_escape'
  /** `%2F` or `%00`: upstreams that decode before routing see another segment or the end of the path (CVE-2007-0450 class). */
  | 'path_encoded_separator'
  /** `\` or `%5C`: IIS, Tomcat on Windows and many static servers route it as `/`. */
  | 'path_backslash'
  /**
   * `;` or `%3B`: Tomcat and Jetty cut `;parameters` from each segment before resolving dot segments
   * (`/admin/..;/x` is `/x` there, `/admin/..;/x` under `/admin/` in Express, Go and nginx), so no one
   * form of such a path is what every upstream serves.
   */
  | 'path_parameters'
  /** A segment ending in `.`, space or tab (raw or encoded): Windows (IIS, Tomcat on NTFS) drops them, so `/admin.` is `/admin`. */
  | 'path_trailing_dot_or_space'
  /** `:$` (raw or encoded, e.g. `::$DATA`, `::$INDEX_ALLOCATION`): an NTFS stream of the named file, served by IIS as the file. */
  | 'path_ntfs_stream';

const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
/**
 * What the scan does with each ASCII character, so the common one costs one table read: RFC 3986
 * pchar plus `/` and `%` are allowed (everything else must arrive percent-encoded); among them the
 * upper-case letters are noted for case folding, and the characters that end a segment or need a
 * check of their own are special.
 */
const PLAIN = 0;
const UPPER = 1;
const SPECIAL = 2;
const REFUSED = 3;
const KIND = new Uint8Array(128).fill(REFUSED);
for (const c of "abcdefghijklmnopqrstuvwxyz0123456789-_~!&'()*+,=:@") KIND[c.charCodeAt(0)] = PLAIN;
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') KIND[c.charCodeAt(0)] = UPPER;
for (const c of '/?#%;$.') KIND[c.charCodeAt(0)] = SPECIAL;
/** `%XX` with upper-case hex for every byte (RFC 3986 §6.2.2.1), built once instead of per escape. */
const ESCAPES = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);

const NUL = 0;
const TAB = 9;
const SPACE = 32;
const HASH = 35;
const DOLLAR = 36;
const PERCENT = 37;
const DOT = 46;
const SLASH = 47;
const COLON = 58;
const SEMICOLON = 59;
const QUESTION = 63;
const BACKSLASH = 92;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes the escapes of `raw[0, end)`, which the scan in canonicalPathOf has already validated. */
function decodeEscapes(raw: string, end: number, firstPercent: number): string {
  let decoded = '';
  let from = 0;
  for (let i = firstPercent; i < end; i++) {
    if (raw.charCodeAt(i) !== PERCENT) continue;
    const byte = hexValue(raw.charCodeAt(i + 1)) * 16 + hexValue(raw.charCodeAt(i + 2));
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
function removeDotSegments(decoded: string): string {
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
    while (stop < length && decoded.charCodeAt(stop) !== SLASH) stop++;
    const segLength = stop - start;
    const dot = segLength === 1 && decoded.charCodeAt(start) === DOT;
    const dotDot = segLength === 2 && decoded.charCodeAt(start) === DOT && decoded.charCodeAt(start + 1) === DOT;
    if (dotDot) {
      if (n > 0) n--;
    } else if (!dot && segLength !== 0) {
      starts[n] = start;
      ends[n] = stop;
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
 * The canonical path of `raw` (it starts with "/"), or the PathRefusal code (it never does). One
 * function decides both, so the path a policy matches and the path the proxy forwards cannot follow
 * different rules. The checks read each segment in decoded units (a character, or one `%XX`), so an
 * encoded `.`, space, `:` or `$` is refused exactly like the raw one. `foldCase` lower-cases the
 * result (ASCII: the canonical form has no other letters), which costs nothing when there is no
 * upper-case letter to fold.
 */
function canonicalPathOf(raw: string, foldCase: boolean): string {
  const length = raw.length;
  if (length === 0 || raw.charCodeAt(0) !== SLASH) return 'path_not_origin_form';
  let firstPercent = -1;
  // Already canonical (no escapes, no dot or empty segments) needs no rebuilding.
  let simple = true;
  // An upper-case letter, or an escape (which may decode to one, or stay as upper-case hex).
  let upper = false;
  // The segment being read: its units, how many of them are dots, and the last one.
  let units = 0;
  let dots = 0;
  let last = SLASH;
  let i = 1;
  for (; i < length; i++) {
    let c = raw.charCodeAt(i);
    const kind = c < 128 ? KIND[c]! : REFUSED;
    if (kind === PLAIN) {
      units++;
      last = c;
      continue;
    }
    if (kind === UPPER) {
      upper = true;
      units++;
      last = c;
      continue;
    }
    if (kind === REFUSED) return c === BACKSLASH ? 'path_backslash' : 'path_invalid_character';
    if (c === SLASH) {
      if (units !== 0 && dots === units && units <= 2) simple = false; // `.` or `..`, resolved below
      else if (last === DOT || last === SPACE || last === TAB) return 'path_trailing_dot_or_space';
      else if (units === 0) simple = false; // `//`
      units = 0;
      dots = 0;
      last = SLASH;
      continue;
    }
    if (c === QUESTION || c === HASH) break;
    if (c === PERCENT) {
      const high = hexValue(raw.charCodeAt(i + 1));
      const low = hexValue(raw.charCodeAt(i + 2));
      if (high < 0 || low < 0) return 'path_invalid_escape';
      c = high * 16 + low;
      if (c === SLASH || c === NUL) return 'path_encoded_separator';
      if (c === BACKSLASH) return 'path_backslash';
      if (firstPercent < 0) firstPercent = i;
      simple = false;
      upper = true;
      i += 2;
    }
    if (c === SEMICOLON) return 'path_parameters';
    if (c === DOLLAR && last === COLON) return 'path_ntfs_stream';
    if (c === DOT) dots++;
    units++;
    last = c;
  }
  // The last segment ends here (end of string, query or fragment); an empty one is a trailing `/`.
  const end = i;
  if (units !== 0 && dots === units && units <= 2) simple = false;
  else if (last === DOT || last === SPACE || last === TAB) return 'path_trailing_dot_or_space';
  const canonical = simple
    ? end === length ? raw : raw.slice(0, end)
    : removeDotSegments(firstPercent < 0 ? raw.slice(0, end) : decodeEscapes(raw, end, firstPercent));
  return foldCase && upper ? canonical.toLowerCase() : canonical;
}

/** The canonical path (query and fragment cut off), or null when the path is refused (see pathRefusalOf). */
export function normalizeRequestPath(raw: string): string | null {
  const canonical = canonicalPathOf(raw, false);
  return canonical.charCodeAt(0) === SLASH ? canonical : null;
}

/**
 * The path `path` selectors match: the canonical path, lower-cased unless the app compares case
 * (`apps[].case_sensitive_paths`; see fold-path-case.ts for why folding is the default). Null exactly
 * when normalizeRequestPath is null.
 */
export function matchedPathOf(raw: string, caseSensitive: boolean): string | null {
  const canonical = canonicalPathOf(raw, !caseSensitive);
  return canonical.charCodeAt(0) === SLASH ? canonical : null;
}

/** Why normalizeRequestPath refuses `raw`, or null when it does not (the refusal path: logs and audit). */
export function pathRefusalOf(raw: string): PathRefusal | null {
  const canonical = canonicalPathOf(raw, false);
  return canonical.charCodeAt(0) === SLASH ? null : (canonical as PathRefusal);
}
