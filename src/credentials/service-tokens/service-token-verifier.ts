import { createHash, timingSafeEqual } from 'node:crypto';
import type { Random } from '../../lib/random.js';
import type { ServiceTokenRefusal } from './service-token-codes.js';
import { isWellFormedClientId, isWellFormedSecret } from './service-token-format.js';
import type { ServiceTokenState } from './service-token-state.js';

/** A request's credentials as the proxy read them from its headers (untrusted, possibly absent). */
export interface ServiceTokenPresentation {
  clientId: unknown;
  secret: unknown;
  /** The app the request is for (from the proxy's own routing, not from the client). */
  app: string;
  now: number;
}

/** Who the request is from, once verified: what a policy and the upstream JWT name. */
export interface ServiceTokenIdentity {
  id: string;
  name: string;
  clientId: string;
  owner: string;
  tags: readonly string[];
  apps: readonly string[];
  expiresAt: number;
  believedUnused: boolean;
}

export type ServiceTokenVerdict =
  | { ok: true; token: ServiceTokenIdentity; usedPreviousSecret: boolean }
  | { ok: false; code: ServiceTokenRefusal; token?: ServiceTokenIdentity | undefined };

interface Entry {
  state: ServiceTokenState;
  identity: ServiceTokenIdentity;
  appSet: ReadonlySet<string>;
  current: Buffer;
  previous: Buffer | undefined;
}

export interface ServiceTokenVerifier {
  verify(presented: ServiceTokenPresentation): ServiceTokenVerdict;
  /** Replaces the whole snapshot (start-up), keeping any newer version already applied from the feed. */
  replaceAll(states: readonly ServiceTokenState[]): void;
  /** Applies one token's new state unless an equal or newer version is already held. */
  apply(state: ServiceTokenState): void;
  /** The token id for a client id (use recording), or undefined. */
  idOf(clientId: string): string | undefined;
  size(): number;
}

/** The two primitives the verifier's cost is made of; tests count their calls. */
export interface VerifierPrimitives {
  digest(secret: string): Buffer;
  equal(a: Buffer, b: Buffer): boolean;
}

// The same SHA-256 as `hashSecret` (which wrote the stored hex), as raw bytes: no hex round trip per request.
const defaultPrimitives: VerifierPrimitives = { digest: (secret) => createHash('sha256').update(secret, 'utf8').digest(), equal: timingSafeEqual };
const digestOfHex = (hex: string) => Buffer.from(hex, 'hex');

/**
 * The hot path: a frozen in-memory snapshot keyed by client id, fed by the change feed. Every
 * well-formed presentation costs one SHA-256 and exactly two constant-time comparisons whether the
 * client id exists or not (an unknown id is compared against a random dummy digest), so client ids
 * cannot be enumerated by timing. The secret is checked before anything else about the token is
 * looked at: a holder of a client id alone (printed in a CI log without its secret) learns nothing from
 * which code a refusal got, and a refusal's code reaches only the audit log anyway.
 */
export function createServiceTokenVerifier(random: Random, primitives: VerifierPrimitives = defaultPrimitives): ServiceTokenVerifier {
  const { digest, equal } = primitives;
  let byClientId = new Map<string, Entry>();
  const dummy = random.bytes(32);

  const entryOf = (state: ServiceTokenState): Entry => ({
    state,
    identity: Object.freeze({
      id: state.id,
      name: state.name,
      clientId: state.clientId,
      owner: state.owner,
      tags: Object.freeze([...state.tags]),
      apps: Object.freeze([...state.apps]),
      expiresAt: state.expiresAt,
      believedUnused: state.believedUnused,
    }),
    appSet: new Set(state.apps),
    current: digestOfHex(state.secretHash),
    previous: state.previousSecretHash === undefined ? undefined : digestOfHex(state.previousSecretHash),
  });

  return {
    verify({ clientId, secret, app, now }) {
      if (!isWellFormedClientId(clientId) || !isWellFormedSecret(secret)) return { ok: false, code: 'service_token_malformed' };
      const entry = byClientId.get(clientId);
      const presented = digest(secret);
      // Both comparisons always run, on 32-byte buffers, known id or not.
      const matchesCurrent = equal(presented, entry?.current.length === 32 ? entry.current : dummy);
      const matchesPrevious = equal(presented, entry?.previous?.length === 32 ? entry.previous : dummy);
      if (!entry) return { ok: false, code: 'service_token_unknown' };
      const { state, identity } = entry;
      const previousStillValid = entry.previous !== undefined && state.previousValidUntil !== undefined && now < state.previousValidUntil;
      const usedPreviousSecret = !matchesCurrent && matchesPrevious && previousStillValid;
      if (!matchesCurrent && !usedPreviousSecret) return { ok: false, code: 'service_token_bad_secret', token: identity };
      // A right secret for a revoked token is the strongest sign of a leak: the code says so.
      if (state.status === 'revoked') return { ok: false, code: 'service_token_revoked', token: identity };
      if (state.status === 'suspended') return { ok: false, code: 'service_token_suspended', token: identity };
      if (now >= state.expiresAt) return { ok: false, code: 'service_token_expired', token: identity };
      if (!entry.appSet.has(app)) return { ok: false, code: 'service_token_app_not_allowed', token: identity };
      return { ok: true, token: identity, usedPreviousSecret };
    },
    replaceAll(states) {
      const next = new Map<string, Entry>();
      for (const state of states) {
        // A feed row applied while the rows were being read may be newer than what was read.
        const held = byClientId.get(state.clientId);
        next.set(state.clientId, held && held.state.version > state.version ? held : entryOf(state));
      }
      byClientId = next;
    },
    apply(state) {
      const held = byClientId.get(state.clientId);
      if (held && held.state.version >= state.version) return;
      byClientId.set(state.clientId, entryOf(state));
    },
    idOf: (clientId) => byClientId.get(clientId)?.state.id,
    size: () => byClientId.size,
  };
}
