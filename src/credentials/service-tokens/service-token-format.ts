import type { Random } from '../../lib/random.js';

/**
 * What a service token looks like on the wire. The prefixes are deliberate: a secret pasted into a CI
 * log, a ticket or a repository is recognisable by secret scanners (gitleaks, push protection) by its
 * prefix alone, and a client id is never mistaken for a secret.
 */
export const CLIENT_ID_PREFIX = 'gh-svc-';
export const SECRET_PREFIX = 'gh-secret-';
/** 128 random bits: an id only has to be unique and unguessable enough not to be enumerated. */
const CLIENT_ID_BYTES = 16;
/** 256 random bits: a secret no one can guess or brute-force offline from its stored digest. */
export const SECRET_BYTES = 32;

// base64url (RFC 4648 §5) without padding: 16 bytes → 22 characters, 32 bytes → 43 characters.
const CLIENT_ID_PATTERN = /^gh-svc-[A-Za-z0-9_-]{22}$/;
const SECRET_PATTERN = /^gh-secret-[A-Za-z0-9_-]{43}$/;
export const CLIENT_ID_LENGTH = CLIENT_ID_PREFIX.length + 22;
export const SECRET_LENGTH = SECRET_PREFIX.length + 43;

/**
 * The request headers the access proxy reads. Dashes, not underscores: the proxy drops header names
 * with underscores, because two proxies may map `a_b` and `a-b` to the same CGI variable (header
 * smuggling past a check that looked at only one of them).
 */
export const SERVICE_TOKEN_HEADERS = { clientId: 'gatehouse-client-id', clientSecret: 'gatehouse-client-secret' } as const;

export function generateClientId(random: Random): string {
  return CLIENT_ID_PREFIX + random.bytes(CLIENT_ID_BYTES).toString('base64url');
}

export function generateSecret(random: Random): string {
  const bytes = random.bytes(SECRET_BYTES);
  if (bytes.length !== SECRET_BYTES) throw new Error(`random source returned ${bytes.length} bytes, ${SECRET_BYTES} needed`);
  return SECRET_PREFIX + bytes.toString('base64url');
}

/**
 * Exact shape checks, run before anything is hashed or looked up: a header of a megabyte, a header
 * sent twice (Node joins repeats with ", "), or non-ASCII bytes are refused for the price of a length
 * check. The shapes are public, so refusing them early tells an attacker nothing.
 */
export function isWellFormedClientId(value: unknown): value is string {
  return typeof value === 'string' && value.length === CLIENT_ID_LENGTH && CLIENT_ID_PATTERN.test(value);
}

export function isWellFormedSecret(value: unknown): value is string {
  return typeof value === 'string' && value.length === SECRET_LENGTH && SECRET_PATTERN.test(value);
}
