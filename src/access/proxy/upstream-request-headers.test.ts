import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, rawRequest, startFront, startRecordingUpstream } from './test-support/proxy-test-harness.js';

/**
 * What a real upstream receives when the client sends fields that CGI-style servers would read as
 * ours, or that some frameworks route by instead of the path.
 */
describe('request fields an upstream could read as the proxy’s own, or route by', () => {
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let front: Awaited<ReturnType<typeof startFront>>;
  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    front = await startFront({ apps: [{ name: 'wiki', upstream: upstream.url }] }, 'wiki', { assertion: 'signed.jwt.value', requestId: 'req-1' });
  });
  afterAll(async () => {
    await front.close();
    await closeServer(upstream.server);
  });

  async function send(fields: string[]): Promise<{ status: number; names: string[]; headers: Record<string, unknown>; url: string }> {
    const before = upstream.seen.length;
    const response = await rawRequest(front.port, `GET /public HTTP/1.1\r\nHost: a\r\n${fields.map((f) => `${f}\r\n`).join('')}Connection: close\r\n\r\n`);
    const seen = upstream.seen.slice(before);
    expect(seen).toHaveLength(1);
    const names = seen[0]!.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
    return { status: response.status, names, headers: seen[0]!.headers, url: seen[0]!.url };
  }

  it('names with "_" are dropped: the identity and forwarding fields cannot be forged through HTTP_* variables', async () => {
    const { status, names, headers } = await send([
      'Gatehouse_Jwt_Assertion: forged.jwt.value',
      'X_Forwarded_For: 10.9.9.9',
      'X-Forwarded_For: 10.9.9.8',
      'x_real_ip: 10.9.9.7',
      'Kept-Field: yes',
    ]);
    expect(status).toBe(200);
    expect(names.filter((name) => name.includes('_'))).toEqual([]);
    expect(headers['gatehouse-jwt-assertion']).toBe('signed.jwt.value');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['kept-field']).toBe('yes');
  });

  it('X-Original-URL and X-Rewrite-URL never reach the upstream, in any case', async () => {
    const { status, names, url } = await send(['X-Original-URL: /admin', 'x-rewrite-url: /admin', 'X-ORIGINAL-URL: /admin/x']);
    expect(status).toBe(200);
    expect(url).toBe('/public');
    expect(names).not.toContain('x-original-url');
    expect(names).not.toContain('x-rewrite-url');
  });

  it('method overrides and X-Original-URI never reach the upstream: a GET the policy allowed stays a GET', async () => {
    const { status, names, url } = await send(['X-HTTP-Method-Override: DELETE', 'X-HTTP-Method: DELETE', 'x-method-override: PUT', 'X-Original-URI: /admin']);
    expect(status).toBe(200);
    expect(url).toBe('/public');
    for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-uri']) expect(names).not.toContain(name);
  });
});
