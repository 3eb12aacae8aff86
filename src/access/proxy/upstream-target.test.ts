import { describe, expect, it } from 'vitest';
import { closeServer, rawRequest, startFront, startRecordingUpstream } from './proxy-test-harness.js';
import { upstreamTargetOf } from './upstream-target.js';

describe('upstreamTargetOf', () => {
  const cases: [string, string | null][] = [
    ['/app/page?x=1', '/app/page?x=1'],
    ['/', '/'],
    ['/public/../admin', '/admin'],
    ['/public/..;/admin?q=..', '/public/..;/admin?q=..'],
    ['/%61dmin/%7e?a=%2F', '/admin/~?a=%2F'],
    ['//admin', '/admin'],
    ['/a/./b/', '/a/b/'],
    ['/x%2Fy', null],
    ['/x%5cy', null],
    ['/x\\y', null],
    ['/caf\u00e9', null],
    ['http://a/b/../c?d', '/c?d'],
  ];
  for (const [input, expected] of cases) it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => expect(upstreamTargetOf(input)).toBe(expected));
});

describe('the upstream receives the path the policy evaluated', () => {
  it('sends dot segments resolved and refuses an encoded slash with 400', async () => {
    const upstream = await startRecordingUpstream();
    const front = await startFront({ apps: [{ name: 'wiki', upstream: `${upstream.url}/base/` }] }, 'wiki');
    try {
      const resolved = await rawRequest(front.port, 'GET /public/%2e%2e/admin?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      expect(resolved.status).toBe(200);
      expect(upstream.seen.at(-1)!.url).toBe('/base/admin?x=1');
      const before = upstream.seen.length;
      const refused = await rawRequest(front.port, 'GET /public%2F..%2Fadmin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      expect(refused.status).toBe(400);
      expect(upstream.seen.length).toBe(before);
    } finally {
      await front.close();
      await closeServer(upstream.server);
    }
  });
});
