/** Where the portal sends a browser after sign-in: never to another host, however the path is spelled. */
import { describe, expect, it } from 'vitest';
import { safeReturnTo } from './return-to.js';

const onlyWiki = (url: URL) => url.origin === 'https://wiki.acme.test';

describe('safeReturnTo', () => {
  it.each(['//evil.example', '/\\evil.example', '/%09/evil.example', '/%2F/evil.example', '/\t/evil.example', '/path\u2028x', '/a\u00a0b', 'evil.example', 'javascript:alert(1)', 'https://evil.example/'])(
    'sends %j to the fallback',
    (raw) => {
      expect(safeReturnTo(raw, onlyWiki)).toBe('/account');
    },
  );

  it('keeps a plain path and an allowed app URL', () => {
    expect(safeReturnTo('/account?tab=keys', onlyWiki)).toBe('/account?tab=keys');
    expect(safeReturnTo('https://wiki.acme.test/page', onlyWiki)).toBe('https://wiki.acme.test/page');
    expect(safeReturnTo('https://user:pw@wiki.acme.test/', onlyWiki)).toBe('/account');
  });
});
