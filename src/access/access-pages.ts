import type { ServerResponse } from 'node:http';
import { messagePage, PORTAL_CSP } from '../portal/index.js';

/**
 * Pages an app host answers itself (deny, handshake failures, refused requests). They borrow the
 * portal's stylesheet, so the CSP allows styles from the portal origin and nothing else.
 */
export function sendAccessPage(
  res: ServerResponse,
  status: number,
  options: { organisation: string; portalOrigin: string; title: string; message: string; requestId: string; action?: { href: string; label: string } },
): void {
  // A denial offers "This is a mistake" (the portal's report page) unless the page has its own next step.
  const action = options.action ?? (status === 403 ? { href: `${options.portalOrigin}/report?kind=mistake`, label: 'This is a mistake' } : undefined);
  const body = messagePage(
    { organisation: options.organisation, csrfToken: '' },
    { title: options.title, message: options.message, requestId: options.requestId, assetBase: options.portalOrigin, ...(action ? { action } : {}) },
  );
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'content-security-policy': PORTAL_CSP.replace("style-src 'self'", `style-src ${options.portalOrigin}`),
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  });
  res.end(body);
}

export function redirect(res: ServerResponse, location: string, setCookie?: string | string[]): void {
  const headers: Record<string, string | string[]> = { location, 'cache-control': 'no-store', 'content-length': '0' };
  if (setCookie) headers['set-cookie'] = setCookie;
  res.writeHead(302, headers);
  res.end();
}

/** The value of one cookie from a Cookie header (RFC 6265 §5.4), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
