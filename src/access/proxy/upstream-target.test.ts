import { describe, expect, it } from 'vitest';
import type { GatehouseError } from '../../lib/errors.js';
import { closeServer, rawRequest, startFront, startRecordingUpstream } from './test-support/proxy-test-harness.js';
import { upstreamTargetOf, upstreamTargetRefusalOf } from './upstream-target.js';

describe('upstreamTargetOf', () => {
  const cases: [string, string | null][] = [
    ['/app/page?x=1', '/app/page?x=1'],
    ['/', '/'],
    ['/public/../admin', '/admin'],
    ['/public/..;/admin?q=..', null],
    ['/ADMIN?x=1', '/ADMIN?x=1'],
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

  it('says why a target is refused', () => {
    expect(upstreamTargetRefusalOf('/public/..;/admin?q=..')).toBe('path_parameters');
    expect(upstreamTargetRefusalOf('http://a/admin%20')).toBe('path_trailing_dot_or_space');
    expect(upstreamTargetRefusalOf('*')).toBe('path_not_origin_form');
  });
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

/**
 * The shapes upstreams route differently from their canonical form (Tomcat and Jetty `;` parameters,
 * IIS and Windows trailing dots and spaces, NTFS streams, backslashes): each one a 400 with its code,
 * and nothing reaches the upstream.
 */
describe('paths an upstream could route differently are refused with 400 and a code', () => {
  const refusals: [string, string][] = [
    ['/admin/..;/x', 'path_parameters'],
    ['/admin;jsessionid=1', 'path_parameters'],
    ['/admin/..%3b/x', 'path_parameters'],
    ['/admin.', 'path_trailing_dot_or_space'],
    ['/admin%2e/x', 'path_trailing_dot_or_space'],
    ['/admin%20', 'path_trailing_dot_or_space'],
    ['/admin%09', 'path_trailing_dot_or_space'],
    ['/admin::$DATA', 'path_ntfs_stream'],
    ['/admin%3A%3A%24data', 'path_ntfs_stream'],
    ['/admin::$Index_Allocation/x', 'path_ntfs_stream'],
    ['/admin\\x', 'path_backslash'],
    ['/admin%5cx', 'path_backslash'],
    ['/admin%2fx', 'path_encoded_separator'],
  ];
  for (const [path, code] of refusals) {
    it(`${JSON.stringify(path)}: 400 ${code}`, async () => {
      const upstream = await startRecordingUpstream();
      const logged: object[] = [];
      const renderError = (error: GatehouseError) => `<p>${error.status} ${error.code}</p>`;
      const logger = { warn: (details: object) => void logged.push(details) };
      const front = await startFront({ apps: [{ name: 'wiki', upstream: upstream.url }], renderError, logger }, 'wiki');
      try {
        const refused = await rawRequest(front.port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
        expect(refused.status).toBe(400);
        expect(refused.text).toContain(`<p>400 ${code}</p>`);
        expect(logged).toEqual([expect.objectContaining({ code, app: 'wiki' })]);
        expect(upstream.seen).toEqual([]);
      } finally {
        await front.close();
        await closeServer(upstream.server);
      }
    });
  }

  it('the same paths in absolute-form are refused the same way', async () => {
    const upstream = await startRecordingUpstream();
    const renderError = (error: GatehouseError) => `<p>${error.status} ${error.code}</p>`;
    const front = await startFront({ apps: [{ name: 'wiki', upstream: upstream.url }], renderError }, 'wiki');
    try {
      const refused = await rawRequest(front.port, 'GET http://a/admin/..;/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('<p>400 path_parameters</p>');
      expect(upstream.seen).toEqual([]);
    } finally {
      await front.close();
      await closeServer(upstream.server);
    }
  });

  it('case is forwarded as received (the upstream folds it or not; the policy followed apps[].case_sensitive_paths)', async () => {
    const upstream = await startRecordingUpstream();
    const front = await startFront({ apps: [{ name: 'wiki', upstream: upstream.url }] }, 'wiki');
    try {
      const response = await rawRequest(front.port, 'GET /ADMIN/Users?Q=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      expect(response.status).toBe(200);
      expect(upstream.seen.at(-1)!.url).toBe('/ADMIN/Users?Q=1');
    } finally {
      await front.close();
      await closeServer(upstream.server);
    }
  });
});
