import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeRequestPath } from './normalize-path.js';
import { compilePathMatcher, pathPatternProblem } from './path-matcher.js';

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
    ['/admin;jsessionid=1', '/admin;jsessionid=1'],
  ])('%s -> %s', (raw, canonical) => {
    expect(normalizeRequestPath(raw)).toBe(canonical);
  });

  it.each([
    ['/admin;jsessionid=1', '/admin'],
    ['/public/..;/admin', '/admin'],
    ['/admin;x/secret', '/admin/secret'],
  ])('for matching, Tomcat-style parameters are cut: %s -> %s', (raw, canonical) => {
    expect(normalizeRequestPath(raw, true)).toBe(canonical);
  });

  it.each(['', 'admin', '*', 'http://evil.test/admin', '/a\\b', '/a%2fb', '/a%2Fb', '/a%5cb', '/a%00', '/a%zz', '/a%4', '/a b', '/é', '/a\u0000'])(
    '%j is refused',
    (raw) => {
      expect(normalizeRequestPath(raw)).toBeNull();
    },
  );
});

/**
 * The rules written the plain way (decode, split, RFC 3986 §5.2.4 over an array of segments): the
 * single-pass implementation must give the same answer for every input.
 */
function referenceNormalize(raw: string, stripParameters: boolean): string | null {
  const cut = raw.search(/[?#]/);
  const path = cut < 0 ? raw : raw.slice(0, cut);
  if (!path.startsWith('/')) return null;
  if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/.test(path)) return null;
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    if (path[i] !== '%') {
      decoded += path[i];
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
    const byte = parseInt(hex, 16);
    if (byte === 0x2f || byte === 0x5c || byte === 0) return null;
    const c = String.fromCharCode(byte);
    decoded += /^[A-Za-z0-9\-._~]$/.test(c) ? c : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const out: string[] = [];
  const segments = decoded.split('/').slice(1);
  segments.forEach((raw, i) => {
    const seg = stripParameters && raw.includes(';') ? raw.slice(0, raw.indexOf(';')) : raw;
    if (seg === '..') out.pop();
    else if (seg !== '.' && seg !== '') out.push(seg);
    if (i === segments.length - 1 && (seg === '' || seg === '.' || seg === '..')) out.push('');
  });
  return `/${out.join('/')}`;
}

describe('normalizeRequestPath agrees with the plain statement of the rules', () => {
  const piece = fc.constantFrom('/', '/', '.', '..', '%', '%2e', '%2E', '%2f', '%5C', '%00', '%41', '%7e', '%3b', '%c3%a9', '%g1', '%4', 'a', 'B', '~', ';', ';x=1', '?', '#', '?a/../b', ' ', '\\', 'é', ':', '@', '!');
  const path = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));
  it('for random paths built from the characters that matter', () => {
    fc.assert(
      fc.property(path, fc.boolean(), (raw, strip) => {
        expect(normalizeRequestPath(raw, strip)).toBe(referenceNormalize(raw, strip));
      }),
      { numRuns: 5000 },
    );
  });
  it('for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.boolean(), (tail, strip) => {
        const raw = `/${tail}`;
        expect(normalizeRequestPath(raw, strip)).toBe(referenceNormalize(raw, strip));
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
