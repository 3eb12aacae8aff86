import type { IncomingHttpHeaders } from 'node:http';
import { SERVICE_TOKEN_HEADERS } from './service-token-format.js';

/**
 * The two headers of a request as they arrived, for `verify` (which judges their shape), or undefined
 * when neither is present (the request is not a service-token request at all). One present without the
 * other is a presentation, and refused as malformed: a client that meant to use a token learns it
 * failed instead of being sent to a sign-in page.
 */
export function serviceTokenHeadersOf(headers: IncomingHttpHeaders): { clientId: unknown; secret: unknown } | undefined {
  const clientId = headers[SERVICE_TOKEN_HEADERS.clientId];
  const secret = headers[SERVICE_TOKEN_HEADERS.clientSecret];
  if (clientId === undefined && secret === undefined) return undefined;
  return { clientId, secret };
}

/**
 * Removes both headers before a request goes upstream: the secret must not reach the app, its access
 * log or anything it forwards to (the upstream learns who called from the signed assertion instead).
 */
export function stripServiceTokenHeaders(headers: IncomingHttpHeaders): void {
  delete headers[SERVICE_TOKEN_HEADERS.clientId];
  delete headers[SERVICE_TOKEN_HEADERS.clientSecret];
}
