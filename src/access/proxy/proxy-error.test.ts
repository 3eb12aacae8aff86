import { errors as undiciErrors } from 'undici';
import { describe, expect, it } from 'vitest';
import { classifyUpstreamFailure, renderPlainErrorPage, upstreamUnreachable } from './proxy-error.js';

describe('classifyUpstreamFailure', () => {
  const cases: [string, unknown, number, string][] = [
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 502, 'upstream_unreachable'],
    ['connect timeout', new undiciErrors.ConnectTimeoutError(), 504, 'upstream_timeout'],
    ['headers timeout', new undiciErrors.HeadersTimeoutError(), 504, 'upstream_timeout'],
    ['body timeout', new undiciErrors.BodyTimeoutError(), 504, 'upstream_timeout'],
    ['socket closed', new undiciErrors.SocketError('other side closed'), 502, 'upstream_unreachable'],
    ['unparseable response', Object.assign(new Error('Expected HTTP/'), { name: 'HTTPParserError' }), 502, 'upstream_invalid_response'],
    ['not even an error', 'boom', 502, 'upstream_unreachable'],
  ];
  for (const [name, error, status, code] of cases) {
    it(`${name} -> ${status} ${code}`, () => {
      const classified = classifyUpstreamFailure(error, 'wiki');
      expect(classified.status).toBe(status);
      expect(classified.code).toBe(code);
      expect(classified.detail).toContain('app wiki');
    });
  }
});

describe('renderPlainErrorPage', () => {
  it('shows the public message and reference, escaped, never the detail', () => {
    const error = upstreamUnreachable('connect ECONNREFUSED 10.1.2.3:8080 (internal topology)');
    const html = renderPlainErrorPage(error, { requestId: '<script>x</script>', app: 'wiki' });
    expect(html).toContain('502 The application is not reachable right now.');
    expect(html).toContain('&#60;script&#62;x&#60;/script&#62;');
    expect(html).not.toContain('10.1.2.3');
  });
});
