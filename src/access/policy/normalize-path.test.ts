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
