import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemorySigningKeyStore, createSigningKeyRing, type SigningKeyRing } from '../../credentials/index.js';
import { ManualClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { createIdentityAssertionIssuer, type AssertedIdentity } from './identity-assertion.js';

const ISSUER = 'https://sso.example.com';
const alice: AssertedIdentity = {
  sessionId: 'session-1',
  subject: 'user-123',
  email: 'alice@example.com',
  groups: ['eng', 'oncall'],
  amr: ['hwk', 'mfa'],
  authTime: Date.UTC(2025, 11, 31, 23, 0, 0),
};

async function setup(options: { ttlSeconds?: number } = {}) {
  const clock = new ManualClock();
  const ring = createSigningKeyRing({ store: createMemorySigningKeyStore(), clock, random: cryptoRandom, publishLeadMs: 10 * 60_000 });
  await ring.ensureKey();
  const issuer = createIdentityAssertionIssuer({ keyRing: ring, clock, issuer: ISSUER, ttlSeconds: options.ttlSeconds });
  return { clock, ring, issuer };
}

function verifyLocally(token: string, ring: SigningKeyRing, clock: ManualClock, audience = 'wiki') {
  return jwtVerify(token, createLocalJWKSet(structuredClone(ring.jwks())), {
    issuer: ISSUER,
    audience,
    algorithms: ['ES256'],
    currentDate: new Date(clock.now()),
  });
}

describe('identity assertion', () => {
  let jwksServer: http.Server;
  let jwksUrl: URL;
  let served: SigningKeyRing | undefined;
  beforeAll(async () => {
    // Serves the ring's JWKS as the portal will at /.well-known/jwks.json.
    jwksServer = http.createServer((req, res) => {
      res.writeHead(req.url === '/.well-known/jwks.json' && served ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(served?.jwks() ?? {}));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = new URL(`http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`);
  });
  afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

  it('the name claim is the display name, else the email local part, and a renamed user is re-signed', async () => {
    const { clock, ring, issuer } = await setup();
    const unnamed = await verifyLocally(await issuer.assertionFor({ ...alice, name: '  ' }, 'wiki'), ring, clock);
    expect(unnamed.payload.name).toBe('alice');
    const named = await verifyLocally(await issuer.assertionFor({ ...alice, name: 'Alice Liddell' }, 'wiki'), ring, clock);
    expect(named.payload.name).toBe('Alice Liddell');
    expect(issuer.cachedAssertionFor({ ...alice, name: 'Alice L.' }, 'wiki')).toBeUndefined();
  });

  it('carries iss, aud, sub, email, name, groups, amr, auth_time, iat and a 60 s exp, with kid and ES256 in the header', async () => {
    const { clock, ring, issuer } = await setup();
    const token = await issuer.assertionFor(alice, 'wiki');
    const { payload, protectedHeader } = await verifyLocally(token, ring, clock);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: ring.signingKey().kid, typ: 'JWT' });
    const iat = Math.floor(clock.now() / 1000);
    expect(payload).toEqual({
      iss: ISSUER,
      aud: 'wiki',
      sub: 'user-123',
      email: 'alice@example.com',
      name: 'alice',
      groups: ['eng', 'oncall'],
      amr: ['hwk', 'mfa'],
      auth_time: Math.floor(alice.authTime / 1000),
      iat,
      exp: iat + 60,
    });
    expect(token).not.toContain('session-1');
  });

  it('verifies with createRemoteJWKSet against the served JWKS', async () => {
    const { clock, ring, issuer } = await setup();
    served = ring;
    const token = await issuer.assertionFor(alice, 'wiki');
    const { payload } = await jwtVerify(token, createRemoteJWKSet(jwksUrl), {
      issuer: ISSUER,
      audience: 'wiki',
      currentDate: new Date(clock.now()),
    });
    expect(payload.sub).toBe('user-123');
  });

  it('is refused for another app (audience), after expiry, and under a foreign key', async () => {
    const { clock, ring, issuer } = await setup();
    const token = await issuer.assertionFor(alice, 'wiki');
    await expect(verifyLocally(token, ring, clock, 'payroll')).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
    const other = await setup();
    await expect(verifyLocally(token, other.ring, clock)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    clock.advance(60_000);
    await expect(verifyLocally(token, ring, clock)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('reuses the cached token per (session, app) until shortly before expiry', async () => {
    const { clock, issuer } = await setup();
    expect(issuer.cachedAssertionFor(alice, 'wiki')).toBeUndefined();
    const first = await issuer.assertionFor(alice, 'wiki');
    clock.advance(49_000);
    expect(await issuer.assertionFor(alice, 'wiki')).toBe(first);
    expect(issuer.cachedAssertionFor({ ...alice, groups: [...alice.groups] }, 'wiki')).toBe(first);
    expect(issuer.cachedAssertionFor({ ...alice, amr: ['pwd'] }, 'wiki')).toBeUndefined();
    expect(await issuer.assertionFor(alice, 'payroll')).not.toBe(first);
    expect(await issuer.assertionFor({ ...alice, sessionId: 'session-2' }, 'wiki')).not.toBe(first);
    expect(issuer.cacheSize).toBe(3);
    // 10 s before exp the token is replaced, so an upstream never receives one about to lapse.
    clock.advance(1_000);
    expect(issuer.cachedAssertionFor(alice, 'wiki')).toBeUndefined();
    const renewed = await issuer.assertionFor(alice, 'wiki');
    expect(renewed).not.toBe(first);
    expect(await issuer.assertionFor(alice, 'wiki')).toBe(renewed);
  });

  it('signs once for a burst of concurrent first requests', async () => {
    const { issuer } = await setup();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issuer.assertionFor(alice, 'wiki')));
    expect(new Set(tokens).size).toBe(1);
  });

  it('never serves stale claims: a group change or forgetSession re-signs', async () => {
    const { clock, ring, issuer } = await setup();
    const first = await issuer.assertionFor(alice, 'wiki');
    const demoted = await issuer.assertionFor({ ...alice, groups: ['eng'] }, 'wiki');
    expect(demoted).not.toBe(first);
    expect((await verifyLocally(demoted, ring, clock)).payload.groups).toEqual(['eng']);
    issuer.forgetSession('session-1');
    expect(issuer.cacheSize).toBe(0);
  });

  it('forgetSessions drops every token of the listed sessions and only theirs (one pass for a revocation row)', async () => {
    const { issuer } = await setup();
    await issuer.assertionFor(alice, 'wiki');
    await issuer.assertionFor(alice, 'grafana');
    await issuer.assertionFor({ ...alice, sessionId: 'session-2' }, 'wiki');
    await issuer.assertionFor({ ...alice, sessionId: 'session-3' }, 'wiki');
    issuer.forgetSessions(['session-1', 'session-3', 'unknown']);
    expect(issuer.cacheSize).toBe(1);
    expect(issuer.cachedAssertionFor({ ...alice, sessionId: 'session-2' }, 'wiki')).toBeDefined();
    expect(issuer.cachedAssertionFor(alice, 'wiki')).toBeUndefined();
  });

  it('switches to the new key when a rotation activates; the old token still verifies during the overlap', async () => {
    const { clock, ring, issuer } = await setup();
    const before = await issuer.assertionFor(alice, 'wiki');
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = await ring.rotate();
    // Published before use: a verifier that fetches the JWKS now already knows the new key.
    expect(ring.jwks().keys.map((key) => key.kid)).toContain(newKid);
    expect(decodeProtectedHeader(await issuer.assertionFor(alice, 'wiki')).kid).toBe(oldKid);
    clock.advance(10 * 60_000 - 30_000);
    const lastOld = await issuer.assertionFor(alice, 'wiki');
    expect(decodeProtectedHeader(lastOld).kid).toBe(oldKid);
    clock.advance(30_000);
    const after = await issuer.assertionFor(alice, 'wiki');
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    await expect(verifyLocally(lastOld, ring, clock)).resolves.toBeTruthy();
    await expect(verifyLocally(after, ring, clock)).resolves.toBeTruthy();
  });

  it('refuses a lifetime longer than the key ring keeps superseded keys', async () => {
    const { ring, clock } = await setup();
    expect(() => createIdentityAssertionIssuer({ keyRing: ring, clock, issuer: ISSUER, ttlSeconds: 3600 })).toThrow(/maxTokenLifetimeMs/);
    expect(() => createIdentityAssertionIssuer({ keyRing: ring, clock, issuer: 'sso' })).toThrow(/issuer/);
  });
});
