import { SignJWT } from 'jose';
import type { SigningKeyRing } from '../../credentials/index.js';
import type { Clock } from '../../lib/clock.js';

/** The header that carries the signed identity to the upstream; clients can never set it (see upstream-request-headers). */
export const ASSERTION_HEADER = 'Gatehouse-Jwt-Assertion';

/** Who is asking, as the session knows it. */
export interface AssertedIdentity {
  /** Cache key part only: never put in the token (it is a bearer secret's handle). */
  sessionId: string;
  /** Stable user id. */
  subject: string;
  email: string;
  /** Display name (the user's `name`); the `name` claim falls back to the email's local part when empty. */
  name?: string;
  groups: readonly string[];
  /** RFC 8176 authentication method references, e.g. ['hwk', 'mfa']. */
  amr: readonly string[];
  /** When the user last authenticated (ms since epoch). */
  authTime: number;
}

/** A machine, as a verified service token names it: what the upstream JWT says instead of a person. */
export interface AssertedServiceToken {
  name: string;
  /** The token's public client id (never its secret). */
  clientId: string;
  /** Email of the person accountable for the token. */
  owner: string;
}

/** `sub` of a service token's JWT: prefixed, so no upstream can mistake it for a user id. */
export const SERVICE_TOKEN_SUBJECT_PREFIX = 'service-token:';

export interface IdentityAssertionIssuerOptions {
  keyRing: SigningKeyRing;
  clock: Clock;
  /** `iss`: the portal's origin, e.g. https://sso.example.com. */
  issuer: string;
  /** Token lifetime in seconds (`exp - iat`). */
  ttlSeconds?: number;
  /** A cached token is replaced this many seconds before it expires, so an upstream never receives one about to lapse. */
  refreshBeforeSeconds?: number;
  /** Upper bound on cached (session, app) pairs; the oldest entries are dropped first. */
  maxCacheEntries?: number;
}

export interface IdentityAssertionIssuer {
  /** The JWT for this identity and app: from the cache when still fresh, otherwise signed now. */
  assertionFor(identity: AssertedIdentity, app: string): Promise<string>;
  /** The cached JWT if still fresh, synchronously (the hot path's fast case); undefined means call assertionFor. */
  cachedAssertionFor(identity: AssertedIdentity, app: string): string | undefined;
  /**
   * The JWT naming a service token (not a person: no email, groups or amr) for an app. The caller has
   * verified the token for this request; the cache only saves the signature.
   */
  serviceTokenAssertionFor(token: AssertedServiceToken, app: string): Promise<string>;
  cachedServiceTokenAssertionFor(token: AssertedServiceToken, app: string): string | undefined;
  /** Drops every cached token of a session (revocation, logout, group change). */
  forgetSession(sessionId: string): void;
  /** Drops every cached token of these sessions in one pass over the cache (a feed row revoking thousands). */
  forgetSessions(sessionIds: Iterable<string>): void;
  readonly cacheSize: number;
}

interface CacheEntry {
  token: string;
  kid: string;
  /** The identity the token was signed for: a change in groups or AMR must never be served stale. */
  signedFor: AssertedIdentity;
  refreshAt: number;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameClaims(a: AssertedIdentity, b: AssertedIdentity): boolean {
  return (
    a === b ||
    (a.subject === b.subject && a.email === b.email && a.name === b.name && a.authTime === b.authTime && sameList(a.groups, b.groups) && sameList(a.amr, b.amr))
  );
}

/** The `name` claim: the user's display name, else the email's local part. */
export function displayNameOf(identity: Pick<AssertedIdentity, 'name' | 'email'>): string {
  const name = identity.name?.trim();
  if (name) return name;
  const at = identity.email.lastIndexOf('@');
  return at > 0 ? identity.email.slice(0, at) : identity.email;
}

export function createIdentityAssertionIssuer(options: IdentityAssertionIssuerOptions): IdentityAssertionIssuer {
  const { keyRing, clock, issuer, ttlSeconds = 60, maxCacheEntries = 50_000 } = options;
  const refreshBeforeSeconds = options.refreshBeforeSeconds ?? Math.min(10, Math.floor(ttlSeconds / 4));
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new TypeError('identity assertion: ttlSeconds must be a positive integer');
  if (ttlSeconds * 1000 > keyRing.maxTokenLifetimeMs) {
    // The ring unpublishes a superseded key maxTokenLifetimeMs after rotation; a longer-lived token would stop verifying.
    throw new TypeError(`identity assertion: ttlSeconds ${ttlSeconds} exceeds the key ring's maxTokenLifetimeMs`);
  }
  if (!(refreshBeforeSeconds >= 0 && refreshBeforeSeconds < ttlSeconds)) {
    throw new TypeError('identity assertion: refreshBeforeSeconds must be >= 0 and < ttlSeconds');
  }
  if (!/^https?:\/\/./.test(issuer)) throw new TypeError('identity assertion: issuer must be an http(s) URL');

  const cache = new Map<string, CacheEntry>();
  // Service tokens have their own small cache: their claims are not a person's, and a key here can
  // never collide with a session's.
  const tokenCache = new Map<string, { token: string; kid: string; owner: string; name: string; refreshAt: number }>();
  // Concurrent first requests of one session share one signature instead of signing N times.
  const inFlight = new Map<string, Promise<string>>();

  async function sign(identity: AssertedIdentity, app: string, key: string): Promise<string> {
    const signingKey = keyRing.signingKey();
    const iat = Math.floor(clock.now() / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT({
      email: identity.email,
      // OpenID Connect Core §5.1 `name`: what an app shows; never empty, so an app needs no fallback of its own.
      name: displayNameOf(identity),
      groups: [...identity.groups],
      amr: [...identity.amr],
      auth_time: Math.floor(identity.authTime / 1000),
    })
      .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(app)
      .setSubject(identity.subject)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(signingKey.privateKey);
    if (cache.size >= maxCacheEntries && !cache.has(key)) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.delete(key);
    const signedFor: AssertedIdentity = { ...identity, groups: [...identity.groups], amr: [...identity.amr] };
    cache.set(key, { token, kid: signingKey.kid, signedFor, refreshAt: (exp - refreshBeforeSeconds) * 1000 });
    return token;
  }

  async function signServiceToken(machine: AssertedServiceToken, app: string, key: string): Promise<string> {
    const signingKey = keyRing.signingKey();
    const iat = Math.floor(clock.now() / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT({ gatehouse_token: { name: machine.name, client_id: machine.clientId, owner: machine.owner } })
      .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(app)
      .setSubject(`${SERVICE_TOKEN_SUBJECT_PREFIX}${machine.name}`)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(signingKey.privateKey);
    if (tokenCache.size >= maxCacheEntries && !tokenCache.has(key)) {
      const oldest = tokenCache.keys().next().value;
      if (oldest !== undefined) tokenCache.delete(oldest);
    }
    tokenCache.delete(key);
    tokenCache.set(key, { token, kid: signingKey.kid, owner: machine.owner, name: machine.name, refreshAt: (exp - refreshBeforeSeconds) * 1000 });
    return token;
  }

  function freshServiceToken(machine: AssertedServiceToken, key: string): string | undefined {
    const entry = tokenCache.get(key);
    if (entry !== undefined && clock.now() < entry.refreshAt && entry.name === machine.name && entry.owner === machine.owner && entry.kid === keyRing.signingKey().kid) return entry.token;
    return undefined;
  }

  function fresh(identity: AssertedIdentity, key: string): string | undefined {
    const entry = cache.get(key);
    if (
      entry !== undefined &&
      clock.now() < entry.refreshAt &&
      sameClaims(entry.signedFor, identity) &&
      // A rotation or revocation changes the signing key: re-sign rather than keep serving the old kid.
      entry.kid === keyRing.signingKey().kid
    ) {
      return entry.token;
    }
    return undefined;
  }

  return {
    assertionFor(identity, app) {
      const key = `${identity.sessionId}\u0000${app}`;
      const token = fresh(identity, key);
      if (token !== undefined) return Promise.resolve(token);
      // Concurrent misses share one signature only when they ask for the same claims.
      const flightKey = `${key}\u0000${JSON.stringify([identity.subject, identity.email, identity.name, identity.groups, identity.amr, identity.authTime])}`;
      const pending = inFlight.get(flightKey);
      if (pending) return pending;
      const signing = sign(identity, app, key).finally(() => inFlight.delete(flightKey));
      inFlight.set(flightKey, signing);
      return signing;
    },
    serviceTokenAssertionFor(machine, app) {
      const key = `${machine.clientId}\u0000${app}`;
      return Promise.resolve(freshServiceToken(machine, key) ?? signServiceToken(machine, app, key));
    },
    cachedServiceTokenAssertionFor(machine, app) {
      return freshServiceToken(machine, `${machine.clientId}\u0000${app}`);
    },
    cachedAssertionFor(identity, app) {
      return fresh(identity, `${identity.sessionId}\u0000${app}`);
    },
    forgetSession(sessionId) {
      const prefix = `${sessionId}\u0000`;
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
    },
    forgetSessions(sessionIds) {
      const forgotten = new Set(sessionIds);
      if (forgotten.size === 0) return;
      for (const [key, entry] of cache) if (forgotten.has(entry.signedFor.sessionId)) cache.delete(key);
    },
    get cacheSize() {
      return cache.size;
    },
  };
}
