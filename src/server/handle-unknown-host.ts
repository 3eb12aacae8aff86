import type { IncomingMessage, ServerResponse } from 'node:http';
import { blockPage, type NameExplanation } from '../dns/index.js';
import { messagePage, STATIC_PAGE_CSP } from '../portal/index.js';

const PROBES = new Set(['/healthz', '/readyz']);

export interface UnknownHostOptions {
  portalUrl: () => string;
  organisation: () => string;
  /**
   * The DNS gateway's decision for a name from what it already knows (absent when the gateway is off).
   * Must not start lookups: the Host header is anyone's to choose.
   */
  explain?: (name: string) => Promise<NameExplanation>;
}

function hostnameOf(req: IncomingMessage): string {
  const host = (req.headers.host ?? '').toLowerCase().replace(/\.$/, '');
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
}

/**
 * Requests for a Host that is neither the portal nor an app: an unknown Host header never reaches the
 * portal's cookies and pages. A name the DNS gateway blocks gets the block page instead (the resolver
 * answered with this listener's address, so its verdict and the name's age are already in memory; a
 * name it knows nothing about gets the generic page, and no registration-date lookup is started for a
 * Host header). Probes are served on any host. Returns false to let fastify serve the portal and the
 * probes.
 */
export function handleUnknownHost(req: IncomingMessage, res: ServerResponse, options: UnknownHostOptions): boolean {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (PROBES.has(path)) return false;
  const portal = new URL(options.portalUrl());
  const hostname = hostnameOf(req);
  if (hostname === portal.hostname) return false;
  const refuse = () => {
    // The Host is anyone's to choose: it is not echoed, and the page links only to the configured portal.
    const body = messagePage(
      { organisation: options.organisation(), csrfToken: '' },
      {
        title: 'There is nothing at this address',
        message: 'This address does not belong to any app here.',
        next: `Check the address you typed or followed. To reach your apps, sign in at ${portal.origin}.`,
        action: { href: `${portal.origin}/`, label: 'Go to the sign-in page' },
        assetBase: portal.origin,
        status: 'warn',
      },
    );
    res.writeHead(hostname === '' ? 400 : 421, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'content-security-policy': STATIC_PAGE_CSP,
      'cache-control': 'no-store',
    });
    res.end(body);
  };
  if (!options.explain || hostname === '' || hostname.startsWith('[') || /^[\d.]+$/.test(hostname)) {
    refuse();
    return true;
  }
  options
    .explain(hostname)
    .then((explanation) => {
      if (explanation.action === 'allow') return refuse();
      const body = blockPage({ explanation, organisation: options.organisation(), portalOrigin: portal.origin });
      res.writeHead(403, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'content-security-policy': STATIC_PAGE_CSP,
        'cache-control': 'no-store',
        'x-frame-options': 'DENY',
      });
      res.end(body);
    })
    .catch(refuse);
  return true;
}
