import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchedPathOf, normalizeRequestPath, pathRefusalOf } from './normalize-path.js';
import { compilePathMatcher, pathPatternProblem } from '../../lib/path-pattern.js';

describe('normalizeRequestPath', () => {
  it.each([
    ['/', '/'],
    ['/admin', '/admin'],
    ['/admin?x=1#f', '/admin'],
    ['/a/b/', '/a/b/'],
    ['/%61dmin', '/admin'],
    ['/%7euser', '/~user'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/public/../admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/./admin/.', '/admin/'],
    ['/..', '/'],
    ['/a/b/../../../c', '/c'],
    ['//admin', '/admin'],
    ['/admin//x', '/admin/x'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a.b/c.d', '/a.b/c.d'],
    ['/a%20b/c%09d', '/a%20b/c%09d'],
    ['/x:y/$z', '/x:y/$z'],
    ['/ADMIN', '/ADMIN'],
  ])('%s -> %s', (raw, canonical) => {
    expect(normalizeRequestPath(raw)).toBe(canonical);
    expect(pathRefusalOf(raw)).toBeNull();
  });

  it.each([
    ['', 'path_not_origin_form'],
    ['admin', 'path_not_origin_form'],
    ['*', 'path_not_origin_form'],
    ['http://evil.test/admin', 'path_not_origin_form'],
    ['/a b', 'path_invalid_character'],
    ['/a\tb', 'path_invalid_character'],
    ['/\u00e9', 'path_invalid_character'],
    ['/a\u0000', 'path_invalid_character'],
    ['/a%zz', 'path_invalid_escape'],
    ['/a%4', 'path_invalid_escape'],
    ['/a%4?b', 'path_invalid_escape'],
    ['/a%2fb', 'path_encoded_separator'],
    ['/a%2Fb', 'path_encoded_separator'],
    ['/a%00', 'path_encoded_separator'],
    ['/a\\b', 'path_backslash'],
    ['/a%5cb', 'path_backslash'],
    ['/a%5C..%5Cadmin', 'path_backslash'],
    // Tomcat and Jetty read `..;` as `..`; Express, Go and nginx as a name.
    ['/admin/..;/x', 'path_parameters'],
    ['/public/..;/admin', 'path_parameters'],
    ['/admin;jsessionid=1', 'path_parameters'],
    ['/admin;x/secret', 'path_parameters'],
    ['/admin/..%3B/x', 'path_parameters'],
    ['/admin%3bx', 'path_parameters'],
    // Windows drops trailing dots and spaces from a file name: `/admin.` is `/admin` to IIS.
    ['/admin.', 'path_trailing_dot_or_space'],
    ['/admin./x', 'path_trailing_dot_or_space'],
    ['/admin%2e', 'path_trailing_dot_or_space'],
    ['/admin%20', 'path_trailing_dot_or_space'],
    ['/admin%20/x', 'path_trailing_dot_or_space'],
    ['/admin%09', 'path_trailing_dot_or_space'],
    ['/admin. %20', 'path_invalid_character'],
    ['/admin.%20.', 'path_trailing_dot_or_space'],
    ['/...', 'path_trailing_dot_or_space'],
    ['/admin.?x=1', 'path_trailing_dot_or_space'],
    ['/admin.#f', 'path_trailing_dot_or_space'],
    ['/admin::$DATA', 'path_ntfs_stream'],
    ['/admin::$data/x', 'path_ntfs_stream'],
    ['/admin%3A%3A%24DATA', 'path_ntfs_stream'],
    ['/admin%3a%3a%24dAtA', 'path_ntfs_stream'],
    ['/admin:%24DATA', 'path_ntfs_stream'],
    ['/admin::$INDEX_ALLOCATION/x', 'path_ntfs_stream'],
    ['/admin:stream:$DATA', 'path_ntfs_stream'],
  ])('%j is refused: %s', (raw, code) => {
    expect(normalizeRequestPath(raw)).toBeNull();
    expect(pathRefusalOf(raw)).toBe(code);
  });
});

type Reference = { path: string } | { refused: string };

/**
 * The rules written the plain way (split into segments, decode each, RFC 3986 §5.2.4 over an array):
 * the single-pass implementation must give the same canonical path, or the same refusal code, for
 * every input. Problems are reported in reading order, segment by segment.
 */
function referenceNormalize(raw: string): Reference {
  if (!raw.startsWith('/')) return { refused: 'path_not_origin_form' };
  const cut = raw.search(/[?#]/);
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const decodedSegments: string[] = [];
  for (const segment of path.slice(1).split('/')) {
    let decoded = '';
    let plain = '';
    for (let i = 0; i < segment.length; i++) {
      let c = segment[i]!;
      if (c === '\\') return { refused: 'path_backslash' };
      if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@%]$/.test(c)) return { refused: 'path_invalid_character' };
      if (c === '%') {
        const hex = segment.slice(i + 1, i + 3);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { refused: 'path_invalid_escape' };
        const byte = parseInt(hex, 16);
        if (byte === 0x2f || byte === 0) return { refused: 'path_encoded_separator' };
        if (byte === 0x5c) return { refused: 'path_backslash' };
        c = String.fromCharCode(byte);
        decoded += /^[A-Za-z0-9\-._~]$/.test(c) ? c : `%${hex.toUpperCase()}`;
        i += 2;
      } else decoded += c;
      if (c === ';') return { refused: 'path_parameters' };
      if (c === '$' && plain.endsWith(':')) return { refused: 'path_ntfs_stream' };
      plain += c;
    }
    if (plain !== '.' && plain !== '..' && /[. \t]$/.test(plain)) return { refused: 'path_trailing_dot_or_space' };
    decodedSegments.push(decoded);
  }
  const out: string[] = [];
  decodedSegments.forEach((seg, i) => {
    if (seg === '..') out.pop();
    else if (seg !== '.' && seg !== '') out.push(seg);
    if (i === decodedSegments.length - 1 && (seg === '' || seg === '.' || seg === '..')) out.push('');
  });
  return { path: `/${out.join('/')}` };
}

function actual(raw: string): Reference {
  const path = normalizeRequestPath(raw);
  return path === null ? { refused: pathRefusalOf(raw)! } : { path };
}

describe('normalizeRequestPath agrees with the plain statement of the rules', () => {
  const piece = fc.constantFrom(
    '/', '/', '.', '..', '%', '%2e', '%2E', '%2f', '%5C', '%00', '%41', '%7e', '%3b', '%c3%a9', '%g1', '%4', 'a', 'B', '~', ';', ';x=1',
    '?', '#', '?a/../b', ' ', '\t', '%20', '%09', '\\', 'é', ':', '%3A', '$', '%24', 'DATA', '@', '!',
  );
  const path = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));
  it('for random paths built from the characters that matter', () => {
    fc.assert(
      fc.property(path, (raw) => {
        expect(actual(raw)).toEqual(referenceNormalize(raw));
      }),
      { numRuns: 5000 },
    );
  });
  it('for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (tail) => {
        const raw = `/${tail}`;
        expect(actual(raw)).toEqual(referenceNormalize(raw));
      }),
      { numRuns: 2000 },
    );
  });
  it('the matched path is the canonical path, lower-cased unless the app compares case', () => {
    fc.assert(
      fc.property(path, (raw) => {
        const canonical = normalizeRequestPath(raw);
        expect(matchedPathOf(raw, true)).toBe(canonical);
        expect(matchedPathOf(raw, false)).toBe(canonical === null ? null : canonical.toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });
  it('a canonical path is its own canonical form (the proxy forwards it, the engine matches it again)', () => {
    fc.assert(
      fc.property(path, (raw) => {
        const canonical = normalizeRequestPath(raw);
        if (canonical !== null) expect(normalizeRequestPath(canonical)).toBe(canonical);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('compilePathMatcher', () => {
  const matches = compilePathMatcher(['/admin', '/static/', '/api/*/users', '/**/*.php', '/v?/ping']);
  it.each([
    ['/admin', true],
    ['/admin/', true],
    ['/admin/x/y', true],
    ['/administrator', false],
    ['/static', false],
    ['/static/app.js', true],
    ['/api/v1/users', true],
    ['/api/v1/x/users', false],
    ['/api/users', false],
    ['/a/b/index.php', true],
    ['/index.php', true],
    ['/v1/ping', true],
    ['/v10/ping', false],
    ['/', false],
  ])('%s -> %s', (path, expected) => {
    expect(matches(path)).toBe(expected);
  });

  it('repeated globstars collapse (no nested backtracking on client-chosen paths)', () => {
    const m = compilePathMatcher(['/**/**/**/*.php']);
    expect(m('/x.php')).toBe(true);
    expect(m('/a/b/c/x.php')).toBe(true);
    expect(m(`/${'a/'.repeat(5000)}x.phq`)).toBe(false);
  });

  it('a regex metacharacter in a pattern is literal', () => {
    const m = compilePathMatcher(['/a.b/*']);
    expect(m('/a.b/x')).toBe(true);
    expect(m('/aXb/x')).toBe(false);
  });

  it.each([
    ['admin', /must start with "\/"/],
    ['/a b', /percent-encoded/],
    ['/a%2Fb', /encodes "\/"/],
    ['/%61', /unreserved/],
    ['/a%2f', /lower-case/],
    ['/a/../b', /canonical/],
    ['/a//b', /canonical/],
    ['/***', /ambiguous/],
  ])('pattern %j is refused', (pattern, message) => {
    expect(pathPatternProblem(pattern)).toMatch(message);
  });
});
