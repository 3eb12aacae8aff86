import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { randomToken, type Random } from '../lib/random.js';
import type { EcJwk, SigningKeyRecord, SigningKeyStore } from './signing-key-store.js';

/** A public key as published in the JWKS (RFC 7517 §5). */
export interface PublicSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

export interface JsonWebKeySet {
  keys: PublicSigningJwk[];
}

/**
 * Cache-Control for the JWKS document (`/.well-known/jwks.json`, served from `ring.jwks()`). Verifiers
 * refetch within 5 minutes, well inside the default 15-minute `publishLeadMs`, so every verifier knows
 * a new key before its first token; jose's remote JWKS also refetches on an unknown kid.
 */
export const JWKS_CACHE_CONTROL = 'public, max-age=300';

export interface ActiveSigningKey {
  kid: string;
  alg: 'ES256';
  privateKey: KeyObject;
}

export interface SigningKeyRingOptions {
  store: SigningKeyStore;
  clock: Clock;
  random: Random;
  /** How long a new key is published in the JWKS before it signs, so verifiers with a cached JWKS fetch it first. */
  publishLeadMs?: number;
  /** Longest lifetime (plus clock skew) of any token the ring signs: a superseded key stays published this long. */
  maxTokenLifetimeMs?: number;
  /** `maintain()` rotates once the signing key is this old. */
  rotationIntervalMs?: number;
}

export interface SigningKeyRing {
  readonly maxTokenLifetimeMs: number;
  /** Re-reads the store (another instance may have rotated). If the store fails it throws and the current keys stay in use. */
  refresh(): Promise<void>;
  /** Creates a first key, signing at once, when the store holds none (a fresh install has no verifiers yet). */
  ensureKey(): Promise<void>;
  /** Publishes a new key now that signs after `publishLeadMs`; returns its kid. */
  rotate(options?: { publishLeadMs?: number }): Promise<string>;
  /** Withdraws a key at once (compromise): tokens it signed stop verifying as soon as verifiers refetch. */
  revoke(kid: string): Promise<void>;
  /** Periodic upkeep for the composition root's timer: refresh, rotate when due, prune expired keys. */
  maintain(): Promise<{ rotated: string | null; pruned: string[] }>;
  /** The key that signs now. Throws `no_signing_key` if none is active. */
  signingKey(): ActiveSigningKey;
  /** The public JWKS: the signing key, keys waiting to sign, and superseded keys whose tokens may be live. */
  jwks(): JsonWebKeySet;
}

interface KeyView {
  signing: ActiveSigningKey | null;
  jwks: JsonWebKeySet;
  expired: string[];
  /** The view is valid until this instant (the next activation or retirement). */
  validUntil: number;
}

const MINUTE = 60_000;

export function createSigningKeyRing(options: SigningKeyRingOptions): SigningKeyRing {
  const {
    store,
    clock,
    random,
    publishLeadMs = 15 * MINUTE,
    maxTokenLifetimeMs = 5 * MINUTE,
    rotationIntervalMs = 30 * 24 * 60 * MINUTE,
  } = options;
  for (const [name, value] of Object.entries({ publishLeadMs, maxTokenLifetimeMs, rotationIntervalMs })) {
    if (!Number.isFinite(value) || value < 0) throw new TypeError(`signing key ring: ${name} must be a non-negative number`);
  }

  let records: SigningKeyRecord[] = [];
  const privateKeys = new Map<string, KeyObject>();
  let view: KeyView | null = null;

  function install(loaded: SigningKeyRecord[]): void {
    const next = new Map<string, KeyObject>();
    for (const record of loaded) next.set(record.kid, privateKeys.get(record.kid) ?? importRecord(record));
    records = [...loaded].sort((a, b) => a.activatesAt - b.activatesAt || a.createdAt - b.createdAt);
    privateKeys.clear();
    for (const [kid, key] of next) privateKeys.set(kid, key);
    view = null;
  }

  function currentView(): KeyView {
    const now = clock.now();
    if (view && now < view.validUntil) return view;
    view = computeView(records, privateKeys, now, maxTokenLifetimeMs);
    return view;
  }

  async function createKey(activatesAt: number): Promise<string> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = privateKey.export({ format: 'jwk' }) as EcJwk;
    const record: SigningKeyRecord = {
      kid: randomToken(random, 12),
      alg: 'ES256',
      privateJwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d! },
      createdAt: clock.now(),
      activatesAt,
    };
    // Persist first: a key that was never stored must never sign (another instance could not verify it).
    await store.save(record);
    install([...records, record]);
    return record.kid;
  }

  const ring: SigningKeyRing = {
    maxTokenLifetimeMs,
    async refresh() {
      install(await store.load());
    },
    async ensureKey() {
      await ring.refresh();
      if (records.length === 0) await createKey(clock.now());
    },
    async rotate(rotateOptions = {}) {
      const lead = rotateOptions.publishLeadMs ?? publishLeadMs;
      if (!Number.isFinite(lead) || lead < 0) throw new TypeError('signing key ring: publishLeadMs must be non-negative');
      return createKey(clock.now() + lead);
    },
    async revoke(kid) {
      await store.remove(kid);
      install(records.filter((record) => record.kid !== kid));
    },
    async maintain() {
      await ring.ensureKey();
      const now = clock.now();
      let rotated: string | null = null;
      const current = currentView().signing;
      const active = current ? records.find((record) => record.kid === current.kid) : undefined;
      const pending = records.some((record) => record.activatesAt > now);
      if (!pending && (!active || now - active.activatesAt >= rotationIntervalMs)) rotated = await ring.rotate();
      const pruned = currentView().expired;
      for (const kid of pruned) await store.remove(kid);
      if (pruned.length > 0) install(records.filter((record) => !pruned.includes(record.kid)));
      return { rotated, pruned };
    },
    signingKey() {
      const signing = currentView().signing;
      if (!signing) {
        throw new GatehouseError('no_signing_key', {
          status: 503,
          publicMessage: 'The service is not ready.',
          detail: 'the signing key ring has no active key (call ensureKey() or rotate with publishLeadMs 0)',
        });
      }
      return signing;
    },
    jwks() {
      return currentView().jwks;
    },
  };
  return ring;
}

function computeView(
  records: SigningKeyRecord[],
  privateKeys: Map<string, KeyObject>,
  now: number,
  maxTokenLifetimeMs: number,
): KeyView {
  let validUntil = Number.POSITIVE_INFINITY;
  let signing: SigningKeyRecord | null = null;
  const keys: PublicSigningJwk[] = [];
  const expired: string[] = [];
  // records are sorted by activatesAt: a key signs from its activation until the next key activates.
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const supersededAt = records[i + 1]?.activatesAt ?? Number.POSITIVE_INFINITY;
    const retiredAt = supersededAt + maxTokenLifetimeMs;
    if (record.activatesAt > now) validUntil = Math.min(validUntil, record.activatesAt);
    else if (supersededAt > now) signing = record;
    if (retiredAt <= now) {
      expired.push(record.kid);
      continue;
    }
    validUntil = Math.min(validUntil, retiredAt);
    const { kty, crv, x, y } = record.privateJwk;
    keys.push(Object.freeze({ kty, crv, x, y, kid: record.kid, alg: 'ES256', use: 'sig' }));
  }
  return {
    signing: signing ? Object.freeze({ kid: signing.kid, alg: 'ES256', privateKey: privateKeys.get(signing.kid)! }) : null,
    jwks: Object.freeze({ keys: Object.freeze(keys) as PublicSigningJwk[] }),
    expired,
    validUntil,
  };
}

function importRecord(record: SigningKeyRecord): KeyObject {
  const jwk = record?.privateJwk;
  const where = `signing key ${JSON.stringify(record?.kid)}`;
  if (typeof record?.kid !== 'string' || record.kid.length === 0) throw new TypeError('signing key record without a kid');
  if (record.alg !== 'ES256') throw new TypeError(`${where}: unsupported alg ${JSON.stringify(record.alg)}`);
  if (!Number.isFinite(record.createdAt) || !Number.isFinite(record.activatesAt)) {
    throw new TypeError(`${where}: createdAt and activatesAt must be numbers (ms)`);
  }
  if (!jwk || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') {
    throw new TypeError(`${where}: privateJwk must be a private P-256 EC JWK`);
  }
  try {
    return createPrivateKey({ key: { ...jwk }, format: 'jwk' });
  } catch (cause) {
    throw new TypeError(`${where}: privateJwk is not a valid P-256 key`, { cause });
  }
}
