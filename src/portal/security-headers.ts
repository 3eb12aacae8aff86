import type { FastifyReply } from 'fastify';
import { PORTAL_CSS_HASH_SOURCE } from './portal-css.js';

/**
 * Pages carry no inline script, and their one inline style is allowed by its hash alone (no style
 * attributes, no other <style>), so the CSP forbids injected script and restyling; framing is refused (clickjacking
 * of the "touch your key" step), and nothing is cached (pages show sessions and CSRF tokens).
 */
export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' ${PORTAL_CSS_HASH_SOURCE}`,
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * For pages served on a host that is not the portal (an app host, an unknown or blocked name): no
 * script and no form at all, only the one inline style. 'self' there is someone else's origin (an
 * app's upstream, or a name an attacker registered), so nothing is allowed by origin.
 */
export const STATIC_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${PORTAL_CSS_HASH_SOURCE}`,
  "img-src data:",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function setSecurityHeaders(reply: FastifyReply, tls: boolean): void {
  reply.header('content-security-policy', PORTAL_CSP);
  reply.header('x-frame-options', 'DENY');
  reply.header('x-content-type-options', 'nosniff');
  // A page that carries a bearer token in its URL (an owner task's link) has already chosen no-referrer.
  if (!reply.hasHeader('referrer-policy')) reply.header('referrer-policy', 'same-origin');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('permissions-policy', 'publickey-credentials-get=(self), publickey-credentials-create=(self)');
  // A policy the server already chose (server.hsts) stands; this is the default.
  if (tls && !reply.hasHeader('strict-transport-security')) reply.header('strict-transport-security', 'max-age=31536000');
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
}
