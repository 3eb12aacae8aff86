import { describe, expect, it } from 'vitest';
import { classifyUpstreamFailure, clientConcurrencyLimit, renderPlainErrorPage, upstreamUnreachable } from './proxy-error.js';
import { UpstreamFailure } from './upstream-failure.js';

describe('classifyUpstreamFailure', () => {
  const cases: [string, unknown, number, string][] = [
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 502, 'upstream_unreachable'],
    ['connect timeout', new UpstreamFailure('UPSTREAM_CONNECT_TIMEOUT', 'connect timeout'), 504, 'upstream_timeout'],
    ['headers timeout', new UpstreamFailure('UPSTREAM_RESPONSE_TIMEOUT', 'response head timeout'), 504, 'upstream_timeout'],
    ['body timeout', new UpstreamFailure('UPSTREAM_BODY_TIMEOUT', 'response body timeout'), 504, 'upstream_timeout'],
    ['socket closed', new UpstreamFailure('UPSTREAM_CLOSED', 'the upstream closed the connection'), 502, 'upstream_unreachable'],
    ['connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 502, 'upstream_unreachable'],
    ['unparseable response', new UpstreamFailure('UPSTREAM_INVALID_RESPONSE', 'malformed status line'), 502, 'upstream_invalid_response'],
    ['not even an error', 'boom', 502, 'upstream_unreachable'],
    ['queue full', new UpstreamFailure('UPSTREAM_QUEUE_FULL', 'queue full'), 503, 'upstream_queue_full'],
    ['deadline passed in the queue', new UpstreamFailure('UPSTREAM_QUEUE_TIMEOUT', 'queued too long'), 504, 'upstream_queue_timeout'],
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

describe('overload errors', () => {
  it('carry Retry-After where a retry can help, never on a timeout', () => {
    expect(classifyUpstreamFailure(new UpstreamFailure('UPSTREAM_QUEUE_FULL', 'full'), 'wiki')).toMatchObject({ retryAfterSeconds: 1 });
    expect(classifyUpstreamFailure(new UpstreamFailure('UPSTREAM_QUEUE_TIMEOUT', 'late'), 'wiki')).toMatchObject({ retryAfterSeconds: undefined });
    expect(clientConcurrencyLimit('too many')).toMatchObject({ code: 'client_concurrency_limit', status: 429, retryAfterSeconds: 5 });
  });
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
