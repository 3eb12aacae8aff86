import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ServerConfig } from '../config/index.js';

export type MetricsConfig = NonNullable<ServerConfig['metrics']>;

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Whether the request carries the configured bearer token (RFC 6750 §2.1). Only the token's SHA-256
 * is kept; comparing digests of equal length in constant time leaks neither the token nor its length.
 */
function bearerCheck(token: string | undefined): (header: string | undefined) => boolean {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (header) => {
    const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
    return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
  };
}

function answer(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/**
 * Prometheus metrics on a listener of their own, loopback by default. Metrics name apps, sign-in
 * outcomes and blocked domains, reconnaissance an attacker should not get from the portal or app hosts.
 */
export async function startMetricsListener(config: MetricsConfig, registry: Registry): Promise<MetricsListener> {
  const authorised = bearerCheck(config.bearer_token);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return answer(res, 404, 'Not found.\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'Method not allowed.\n', { allow: 'GET, HEAD' });
    if (!authorised(req.headers.authorization)) {
      // RFC 6750 §3: a missing token gets the bare challenge, a wrong one error="invalid_token".
      const challenge = req.headers.authorization ? 'Bearer realm="gatehouse-metrics", error="invalid_token"' : 'Bearer realm="gatehouse-metrics"';
      return answer(res, 401, 'A bearer token is required.\n', { 'www-authenticate': challenge });
    }
    registry.metrics().then(
      (body) => answer(res, 200, req.method === 'HEAD' ? '' : body, { 'content-type': registry.contentType }),
      () => answer(res, 500, 'Metrics could not be collected.\n'),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  return {
    port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
