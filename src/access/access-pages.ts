import type { ServerResponse } from 'node:http';
import { messagePage, STATIC_PAGE_CSP, type MessagePageOptions, type PageAction } from '../portal/index.js';

export interface AccessPageOptions {
  organisation: string;
  portalOrigin: string;
  title: string;
  message: string;
  requestId: string;
  action?: PageAction;
  actions?: PageAction[];
  signedInAs?: string;
  next?: string;
}

/**
 * Pages an app host answers itself (deny, handshake failures, refused requests). Their style is
 * inline (allowed by its hash in STATIC_PAGE_CSP), so they keep their look even for a client the
 * portal itself refuses.
 */
export function sendAccessPage(res: ServerResponse, status: number, options: AccessPageOptions): void {
  const page: MessagePageOptions = { title: options.title, message: options.message, requestId: options.requestId, assetBase: options.portalOrigin };
  if (options.action) page.action = options.action;
  // A denial also offers "This is a mistake" (the portal's report page), last among its ways on.
  const mistake = status === 403 ? [{ href: `${options.portalOrigin}/report?kind=mistake`, label: 'This is a mistake', secondary: true }] : [];
  if (options.actions || mistake.length > 0) page.actions = [...(options.actions ?? []), ...mistake];
  if (options.signedInAs) page.signedInAs = options.signedInAs;
  if (options.next) page.next = options.next;
  const body = messagePage({ organisation: options.organisation, csrfToken: '' }, page);
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'content-security-policy': STATIC_PAGE_CSP,
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

/**
 * The proxy's error pages (502, 503, 504, 429, 400) in the portal's look: the app, the person the
 * gateway signed in (when the request carried a session), whose problem it is and what to try.
 */
export function appErrorPage(
  error: { status: number; publicMessage: string },
  context: { requestId: string | undefined; app: string | undefined; appOrigin: string | undefined; signedInAs?: string | undefined },
  settings: { organisation: string; portalUrl: string },
): string {
  const app = context.app ?? 'This app';
  const busy = error.status === 503 || error.status === 429;
  const upstream = error.status >= 500;
  const page: MessagePageOptions = {
    title: busy ? `${app} is busy` : upstream ? `${app} is not answering` : 'That request did not work',
    message: error.publicMessage,
    status: busy ? 'warn' : 'error',
    next: upstream || busy
      ? 'This is not a problem with your account. Wait a moment and try again; if it keeps happening, tell your IT team and give them the reference below.'
      : 'Go back and try again. If it keeps happening, tell your IT team and give them the reference below.',
    assetBase: new URL(settings.portalUrl).origin,
    actions: [
      ...(context.appOrigin ? [{ href: `${context.appOrigin}/`, label: `Open ${app} again` }] : []),
      { href: `${new URL(settings.portalUrl).origin}/account`, label: 'Your account', secondary: true },
    ],
  };
  if (context.requestId) page.requestId = context.requestId;
  if (context.signedInAs) page.signedInAs = context.signedInAs;
  return messagePage({ organisation: settings.organisation, csrfToken: '' }, page);
}
