import { SignJWT, createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { isGatehouseError } from '../lib/errors.js';
import { cryptoRandom } from '../lib/random.js';
import { createSigningKeyRing } from './signing-key-ring.js';
import { createMemorySigningKeyStore } from './signing-key-store.js';

const MINUTE = 60_000;

function setup() {
  const clock = new ManualClock();
  const store = createMemorySigningKeyStore();
  const ring = createSigningKeyRing({ store, clock, random: cryptoRandom, publishLeadMs: 15 * MINUTE, maxTokenLifetimeMs: 5 * MINUTE, rotationIntervalMs: 24 * 60 * MINUTE });
  return { clock, store, ring };
}

async function signWith(ring: ReturnType<typeof setup>['ring'], clock: ManualClock): Promise<string> {
  const key = ring.signingKey();
  const iat = Math.floor(clock.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuedAt(iat)
    .setExpirationTime(iat + 60)
    .sign(key.privateKey);
}

async function verifies(token: string, ring: ReturnType<typeof setup>['ring'], clock: ManualClock): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(structuredClone(ring.jwks())), { currentDate: new Date(clock.now()) });
    return true;
  } catch {
    return false;
  }
}

describe('signing key ring', () => {
  it('creates a first key that signs at once, persisted as a private JWK, published without the private part', async () => {
    const { ring, store } = setup();
    await ring.ensureKey();
    const [record] = store.records();
    expect(record!.privateJwk.d).toEqual(expect.any(String));
    expect(ring.signingKey().kid).toBe(record!.kid);
    expect(ring.jwks().keys).toEqual([{ kty: 'EC', crv: 'P-256', x: record!.privateJwk.x, y: record!.privateJwk.y, kid: record!.kid, alg: 'ES256', use: 'sig' }]);
    expect(JSON.stringify(ring.jwks())).not.toContain('"d"');
    await ring.ensureKey();
    expect(store.records()).toHaveLength(1);
  });

  it('rotates with overlap: new key published before it signs, old key kept until its tokens expired', async () => {
    const { ring, clock, store } = setup();
    await ring.ensureKey();
    const oldKid = ring.signingKey().kid;
    const newKid = await ring.rotate();

    // Published now, not yet signing.
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([oldKid, newKid]);
    expect(ring.signingKey().kid).toBe(oldKid);
    clock.advance(15 * MINUTE - 1);
    expect(ring.signingKey().kid).toBe(oldKid);
    const lastOldToken = await signWith(ring, clock);

    // Activation: the new key signs; the old one stays published for maxTokenLifetimeMs.
    clock.advance(1);
    expect(ring.signingKey().kid).toBe(newKid);
    expect(await verifies(lastOldToken, ring, clock)).toBe(true);
    expect(await verifies(await signWith(ring, clock), ring, clock)).toBe(true);
    clock.advance(58_000);
    expect(await verifies(lastOldToken, ring, clock)).toBe(true);

    clock.advance(5 * MINUTE - 58_000);
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([newKid]);
    const upkeep = await ring.maintain();
    expect(upkeep).toEqual({ rotated: null, pruned: [oldKid] });
    expect(store.records().map((record) => record.kid)).toEqual([newKid]);
  });

  it('maintain() rotates once the signing key is older than the rotation interval, and only once', async () => {
    const { ring, clock } = setup();
    await ring.ensureKey();
    expect((await ring.maintain()).rotated).toBeNull();
    clock.advance(24 * 60 * MINUTE);
    const first = await ring.maintain();
    expect(first.rotated).toEqual(expect.any(String));
    expect((await ring.maintain()).rotated).toBeNull();
    clock.advance(15 * MINUTE);
    expect(ring.signingKey().kid).toBe(first.rotated);
  });

  it('another instance over the same store sees a rotation after refresh()', async () => {
    const { ring, clock, store } = setup();
    await ring.ensureKey();
    const other = createSigningKeyRing({ store, clock, random: cryptoRandom, publishLeadMs: 15 * MINUTE });
    await other.refresh();
    expect(other.signingKey().kid).toBe(ring.signingKey().kid);
    const newKid = await ring.rotate();
    await other.refresh();
    expect(other.jwks().keys.map((key) => key.kid)).toContain(newKid);
    clock.advance(15 * MINUTE);
    expect(other.signingKey().kid).toBe(newKid);
    // Tokens signed by one instance verify against the other's JWKS.
    expect(await verifies(await signWith(other, clock), ring, clock)).toBe(true);
  });

  it('revoke() withdraws a key at once: its tokens stop verifying', async () => {
    const { ring, clock } = setup();
    await ring.ensureKey();
    const token = await signWith(ring, clock);
    const replacement = await ring.rotate({ publishLeadMs: 0 });
    const compromised = (await import('jose')).decodeProtectedHeader(token).kid!;
    await ring.revoke(compromised);
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([replacement]);
    expect(await verifies(token, ring, clock)).toBe(false);
  });

  it('without an active key, signingKey() fails with no_signing_key', async () => {
    const { ring } = setup();
    await ring.refresh();
    let caught: unknown;
    try {
      ring.signingKey();
    } catch (error) {
      caught = error;
    }
    expect(isGatehouseError(caught) && caught.code).toBe('no_signing_key');
    // A key that is published but not yet active does not sign either.
    await ring.rotate();
    expect(() => ring.signingKey()).toThrow(/no_signing_key/);
  });

  it('refuses a corrupt stored record with an error naming the key', async () => {
    const clock = new ManualClock();
    const store = createMemorySigningKeyStore([
      { kid: 'k1', alg: 'ES256', createdAt: 0, activatesAt: 0, privateJwk: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', d: 'AAAA' } },
    ]);
    const ring = createSigningKeyRing({ store, clock, random: cryptoRandom });
    await expect(ring.refresh()).rejects.toThrow(/signing key "k1": privateJwk is not a valid P-256 key/);
    const publicOnly = createMemorySigningKeyStore([
      { kid: 'k2', alg: 'ES256', createdAt: 0, activatesAt: 0, privateJwk: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' } },
    ]);
    await expect(createSigningKeyRing({ store: publicOnly, clock, random: cryptoRandom }).refresh()).rejects.toThrow(/"k2".*private P-256/);
  });
});
