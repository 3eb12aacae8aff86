import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../lib/errors.js';
import { randomToken, type Random } from '../lib/random.js';
import { constantTimeEqual } from '../lib/secret-hash.js';
import { csrfCookieNameOf } from './portal-cookie-names.js';

/**
 * CSRF defence for every state-changing request (OWASP: double-submit cookie plus origin check).
 * The token lives in an HttpOnly, SameSite=Strict, host-only cookie and is echoed by the page in a
 * hidden field or the `x-csrf-token` header; the Origin (or Referer) must be one of the portal's own.
 */
export function csrfTokenFor(request: FastifyRequest, reply: FastifyReply, random: Random, secure: boolean): string {
  const name = csrfCookieNameOf(secure);
  const existing = request.cookies[name];
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const token = randomToken(random, 32);
  reply.setCookie(name, token, { path: '/', httpOnly: true, sameSite: 'strict', secure });
  return token;
}

function requestOrigin(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') return origin;
  const referer = request.headers.referer;
  if (typeof referer === 'string') {
    try {
      return new URL(referer).origin;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function checkCsrf(request: FastifyRequest, allowedOrigins: readonly string[]): void {
  const origin = requestOrigin(request);
  if (!origin || !allowedOrigins.includes(origin)) {
    throw new GatehouseError('csrf_origin', {
      status: 403,
      publicMessage: 'This request did not come from the sign-in page. Reload the page and try again.',
      detail: `origin ${origin ?? '(none)'} not in ${allowedOrigins.join(', ')}`,
    });
  }
  // The same rule as csrfTokenFor's callers (isTls) picks the name the token was set under.
  const cookie = request.cookies[csrfCookieNameOf(request.isHttps)] ?? '';
  const body = request.body as Record<string, unknown> | undefined;
  const sent = request.headers['x-csrf-token'] ?? (typeof body?._csrf === 'string' ? body._csrf : '');
  if (typeof sent !== 'string' || cookie.length === 0 || !constantTimeEqual(sent, cookie)) {
    throw new GatehouseError('csrf_token', {
      status: 403,
      publicMessage: 'Your page expired. Reload it and try again.',
      detail: 'missing or mismatched CSRF token',
    });
  }
}
