import type http from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface HttpsRedirectOptions {
  /** Port of the HTTPS origin the redirect points at (443 is left out of the URL). */
  httpsPort: number;
  /** Whether a Host header (and its parsed, lower-case host name) names the portal or an app. */
  isServedHost: (host: string, hostname: string) => boolean;
}

/**
 * Where a plain-HTTP request for the portal or an app must go instead: the same host, path and query
 * over HTTPS, or undefined (already TLS, or a host we do not serve). Answered 308 (RFC 9110 §15.4.9)
 * so a POST stays a POST; sign-in pages and cookies are then only ever sent over TLS, and the HSTS
 * header the HTTPS answer carries makes the browser skip plain HTTP next time (RFC 6797 §7.2).
 */
export function httpsRedirectTarget(req: http.IncomingMessage, options: HttpsRedirectOptions): string | undefined {
  if ((req.socket as Partial<TLSSocket>).encrypted) return undefined;
  const host = req.headers.host;
  if (!host) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return undefined; // a malformed Host header is left to the host router's refusal
  }
  if (!options.isServedHost(host, hostname)) return undefined;
  const port = options.httpsPort === 443 ? '' : `:${options.httpsPort}`;
  const path = (req.url ?? '/').startsWith('/') ? (req.url ?? '/') : '/';
  return `https://${hostname}${port}${path}`;
}
