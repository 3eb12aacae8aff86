import type http from 'node:http';

export interface HttpsRedirectOptions {
  /** Port of the HTTPS origin the redirect points at (443 is left out of the URL). */
  httpsPort: number;
  /** Whether a Host header (and its parsed, lower-case host name) names the portal or an app. */
  isServedHost: (host: string, hostname: string) => boolean;
  /**
   * Whether redirecting applies now. Behind a TLS-terminating proxy with no HTTPS listener of our own,
   * only a trusted proxy can tell https from http: with `access.trusted_proxies` empty every request
   * looks like plain HTTP, and redirecting would loop.
   */
  applies: () => boolean;
}

export const HTTPS_REDIRECT_OFF_BEHIND_PROXY =
  'server.public_url is https but only server.http listens and access.trusted_proxies is empty: plain HTTP cannot be told from proxied HTTPS, so it is served without a redirect';

/**
 * Whether plain HTTP is redirected at all: when we listen on both, or when the public URL is https and a
 * proxy in front terminates TLS (then only its X-Forwarded-Proto / Forwarded can say a request was
 * https). The target port is the public URL's when it is https (a port mapping may put 443 in front).
 */
export function httpsRedirectPlan(listeners: { httpPort?: number | undefined; httpsPort?: number | undefined }, publicUrl: URL): { httpsPort: number; behindTlsProxy: boolean } | undefined {
  const behindTlsProxy = listeners.httpsPort === undefined && publicUrl.protocol === 'https:';
  if (listeners.httpPort === undefined || (listeners.httpsPort === undefined && !behindTlsProxy)) return undefined;
  return { httpsPort: publicUrl.protocol === 'https:' ? Number(publicUrl.port || 443) : listeners.httpsPort!, behindTlsProxy };
}

/**
 * Where a plain-HTTP request for the portal or an app must go instead: the same host, path and query
 * over HTTPS, or undefined (already https, or a host we do not serve). Answered 308 (RFC 9110 §15.4.9)
 * so a POST stays a POST; sign-in pages and cookies are then only ever sent over TLS, and the HSTS
 * header the HTTPS answer carries makes the browser skip plain HTTP next time (RFC 6797 §7.2).
 *
 * `https` is the caller's one decision (TLS listener, or a trusted proxy's proto). Attacks:
 * - a client writes `X-Forwarded-Proto: https` (or `Forwarded: proto=https`) to be served a sign-in
 *   page over plain HTTP: from an untrusted peer the header is ignored and the request redirected;
 * - a hostile Host (or X-Forwarded-Host) to turn the redirect into an open redirect: the target's host
 *   is the Host header's host name only when it names the portal or an app, X-Forwarded-Host is never
 *   read, and the path is only ever a path on that host.
 */
export function httpsRedirectTarget(req: http.IncomingMessage, https: boolean, options: HttpsRedirectOptions): string | undefined {
  if (https || !options.applies()) return undefined;
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
