import { createHash, timingSafeEqual } from 'node:crypto';
import { SERVICE_TOKEN_HEADERS } from './service-token-format.js';

/**
 * A service token as one `Authorization: Bearer` credential (RFC 6750 §2.1), for automation tools that
 * can send a bearer token and nothing else: `<client id>.<secret>`. The dot is outside both parts'
 * alphabets (`gh-svc-` and `gh-secret-` then base64url), so the split is unambiguous, and it is a
 * b64token character, so the whole value is a valid bearer token. The parts then go through the same
 * verifier as the two headers: shape first, one SHA-256, constant-time comparisons.
 */
export const SERVICE_TOKEN_BEARER_SEPARATOR = '.';

export function serviceTokenBearerOf(token: { clientId: string; secret: string }): string {
  return `${token.clientId}${SERVICE_TOKEN_BEARER_SEPARATOR}${token.secret}`;
}

/** What a request presented, for `verify` (which judges the shape), or why it is refused before that. */
export type PresentedServiceToken =
  | { kind: 'none' }
  | { kind: 'presented'; clientId: unknown; secret: unknown; form: 'headers' | 'bearer' | 'both' }
  | { kind: 'ambiguous'; why: string };

// RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: `Bearer 1*SP b64token`. The value is
// bounded before the regular expression sees it (a megabyte header costs a length check).
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_AUTHORIZATION_LENGTH = 512;

function bearerPartsOf(value: string): { clientId: unknown; secret: unknown } {
  const token = value.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(value)?.[1] : undefined;
  const dot = token?.indexOf(SERVICE_TOKEN_BEARER_SEPARATOR) ?? -1;
  // Anything else (another scheme, no dot) is still a presentation: `verify` refuses it as malformed.
  if (token === undefined || dot < 0) return { clientId: undefined, secret: undefined };
  return { clientId: token.slice(0, dot), secret: token.slice(dot + 1) };
}

const fingerprint = (clientId: unknown, secret: unknown) => createHash('sha256').update(`${String(clientId)}\n${String(secret)}`, 'utf8').digest();

/**
 * Reads a service token from the two Gatehouse headers or `Authorization: Bearer`, refusing what could
 * be read two ways. The threat is a hop that adds a credential of its own (a proxy injecting its
 * token, a client library adding a default `Authorization`): whichever one the server picked, a
 * request would act with a token its sender did not choose. So:
 * - two `Authorization` headers (Node keeps the first and drops the rest: `rawHeaders` still shows
 *   them) are ambiguous;
 * - both forms naming different tokens (or one of them unreadable) are ambiguous. The forms are
 *   compared by SHA-256 digests with `timingSafeEqual`: one of them may be a proxy's real secret, and
 *   a comparison that stops at the first differing byte would let the sender of the other learn it
 *   byte by byte.
 * Both forms naming the same token is one presentation.
 *
 * `rawHeaders` is Node's flat name/value list (`IncomingMessage.rawHeaders`).
 */
export function presentedServiceTokenOf(rawHeaders: readonly string[]): PresentedServiceToken {
  const values = (name: string) => {
    const found: string[] = [];
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) found.push(rawHeaders[i + 1]!);
    return found;
  };
  const authorizations = values('authorization');
  const ids = values(SERVICE_TOKEN_HEADERS.clientId);
  const secrets = values(SERVICE_TOKEN_HEADERS.clientSecret);
  if (authorizations.length > 1) return { kind: 'ambiguous', why: `${authorizations.length} Authorization headers` };
  // A repeated Gatehouse header is joined with ", " as Node would, and so refused as malformed by `verify`.
  const pair = ids.length === 0 && secrets.length === 0 ? undefined : { clientId: ids.length === 0 ? undefined : ids.join(', '), secret: secrets.length === 0 ? undefined : secrets.join(', ') };
  const bearer = authorizations.length === 0 ? undefined : bearerPartsOf(authorizations[0]!);
  if (!pair && !bearer) return { kind: 'none' };
  if (pair && !bearer) return { kind: 'presented', ...pair, form: 'headers' };
  if (bearer && !pair) return { kind: 'presented', ...bearer, form: 'bearer' };
  const same = bearer!.clientId !== undefined && timingSafeEqual(fingerprint(pair!.clientId, pair!.secret), fingerprint(bearer!.clientId, bearer!.secret));
  if (!same) return { kind: 'ambiguous', why: 'the Gatehouse headers and Authorization name different tokens' };
  return { kind: 'presented', ...pair!, form: 'both' };
}
