import type { IncomingMessage, ServerResponse } from 'node:http';

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Requests for a Host that is neither the portal nor an app are refused here (probes excepted), so a
 * forged or stray Host never reaches the portal's cookies and pages (issue 3: unknown Host headers).
 * Returns false to let fastify serve the portal and the probes.
 */
export function refuseUnknownHost(req: IncomingMessage, res: ServerResponse, portalUrl: () => string): boolean {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (PROBES.has(path)) return false;
  const portal = new URL(portalUrl());
  const host = (req.headers.host ?? '').toLowerCase().replace(/\.$/, '');
  const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  if (hostname === portal.hostname) return false;
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Unknown address</title></head><body><h1>There is nothing at this address</h1><p>Sign in at <a href="${portal.origin}/">${portal.origin}</a>.</p></body></html>`;
  res.writeHead(host === '' ? 400 : 421, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'content-security-policy': "default-src 'none'",
    'cache-control': 'no-store',
  });
  res.end(body);
  return true;
}
