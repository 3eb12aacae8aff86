import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONWebKeySet } from 'jose';

/** Where apps fetch the keys that verify `Gatehouse-Jwt-Assertion` (docs/app-developers.md). */
export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * Answers `GET /.well-known/jwks.json` whatever the Host header names, for a request no app claimed.
 * An upstream on the same machine must reach the keys by address (`http://127.0.0.1:8080/...`): Node,
 * Python and Go resolve names through the C library, which does not map `sso.<x>.localhost` to loopback
 * the way browsers do (RFC 6761 §6.3 allows but does not require it), so the portal-host URL fails there.
 * The document holds public keys only, so serving it on any host discloses nothing the portal does not.
 */
export function answerJwksOnAnyHost(req: IncomingMessage, res: ServerResponse, jwks: () => JSONWebKeySet): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '').split('?')[0];
  if (path !== JWKS_PATH) return false;
  const body = JSON.stringify(jwks());
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
