import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createMemorySigningKeyStore, createSigningKeyRing } from '../../credentials/index.js';
import { ManualClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { createIdentityAssertionIssuer, SERVICE_TOKEN_SUBJECT_PREFIX, type AssertedServiceToken } from './identity-assertion.js';

const ISSUER = 'https://sso.example.com';
const bot: AssertedServiceToken = { name: 'ci-deploy', clientId: `gh-svc-${'A'.repeat(22)}`, owner: 'build@example.com' };

async function setup() {
  const clock = new ManualClock();
  const ring = createSigningKeyRing({ store: createMemorySigningKeyStore(), clock, random: cryptoRandom, publishLeadMs: 10 * 60_000 });
  await ring.ensureKey();
  return { clock, ring, issuer: createIdentityAssertionIssuer({ keyRing: ring, clock, issuer: ISSUER, ttlSeconds: 60 }) };
}

describe('the JWT naming a service token', () => {
  it('is signed with the ring the JWKS publishes, names the token and no person', async () => {
    const { clock, ring, issuer } = await setup();
    const token = await issuer.serviceTokenAssertionFor(bot, 'deploy');
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(structuredClone(ring.jwks())), { issuer: ISSUER, audience: 'deploy', algorithms: ['ES256'], currentDate: new Date(clock.now()) });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: ring.signingKey().kid });
    expect(payload.sub).toBe(`${SERVICE_TOKEN_SUBJECT_PREFIX}ci-deploy`);
    expect(payload.gatehouse_token).toEqual({ name: 'ci-deploy', client_id: bot.clientId, owner: 'build@example.com' });
    expect(payload.exp! - payload.iat!).toBe(60);
    for (const claim of ['email', 'name', 'groups', 'amr', 'auth_time']) expect(payload).not.toHaveProperty(claim);
  });

  it('is cached per token and app until shortly before it expires, and re-signed for another app or owner', async () => {
    const { clock, issuer } = await setup();
    const first = await issuer.serviceTokenAssertionFor(bot, 'deploy');
    expect(issuer.cachedServiceTokenAssertionFor(bot, 'deploy')).toBe(first);
    expect(issuer.cachedServiceTokenAssertionFor(bot, 'wiki')).toBeUndefined();
    expect(issuer.cachedServiceTokenAssertionFor({ ...bot, owner: 'new-owner@example.com' }, 'deploy')).toBeUndefined();
    clock.advance(50_000);
    expect(issuer.cachedServiceTokenAssertionFor(bot, 'deploy')).toBeUndefined();
    expect(await issuer.serviceTokenAssertionFor(bot, 'deploy')).not.toBe(first);
  });
});
