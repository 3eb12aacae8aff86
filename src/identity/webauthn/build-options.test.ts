import { describe, expect, it } from 'vitest';
import { cryptoRandom } from '../../lib/random.js';
import { buildAuthenticationOptions } from './build-authentication-options.js';
import { buildRegistrationOptions } from './build-registration-options.js';
import { newChallenge } from './new-challenge.js';
import { RP } from './test-support/ceremony-fixture.js';

describe('buildRegistrationOptions', () => {
  it('asks for direct attestation, the configured UV and resident key, and our three algorithms', async () => {
    const challenge = newChallenge(cryptoRandom);
    const options = await buildRegistrationOptions({
      rp: RP,
      user: { id: new Uint8Array([1, 2, 3]), name: 'alice@acme.com', displayName: 'Alice' },
      excludeCredentials: [{ id: 'AQID', transports: ['usb'] }],
      challenge,
      userVerification: 'required',
      residentKey: 'required',
      attestation: 'direct',
      timeoutMs: 300_000,
    });
    expect(options.challenge).toBe(Buffer.from(challenge).toString('base64url'));
    expect(options.rp).toEqual({ id: 'acme.localhost', name: 'Acme' });
    expect(options.user).toEqual({ id: 'AQID', name: 'alice@acme.com', displayName: 'Alice' });
    expect(options.attestation).toBe('direct');
    expect(options.timeout).toBe(300_000);
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'required', requireResidentKey: true, userVerification: 'required' });
    expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -8, -257]);
    expect(options.excludeCredentials).toEqual([{ id: 'AQID', transports: ['usb'], type: 'public-key' }]);
  });

  it('refuses a short challenge and an oversized user id (programmer errors)', async () => {
    const base = { rp: RP, userVerification: 'preferred', residentKey: 'preferred', attestation: 'direct', timeoutMs: 1000 } as const;
    const user = { id: new Uint8Array(1), name: 'a', displayName: 'a' };
    await expect(buildRegistrationOptions({ ...base, user, challenge: new Uint8Array(8) })).rejects.toThrow(RangeError);
    await expect(buildRegistrationOptions({ ...base, user: { ...user, id: new Uint8Array(65) }, challenge: new Uint8Array(32) })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('buildAuthenticationOptions', () => {
  it('omits allowCredentials for discoverable sign-in', async () => {
    const options = await buildAuthenticationOptions({ rp: RP, challenge: new Uint8Array(32), userVerification: 'preferred', timeoutMs: 60_000 });
    expect(options.rpId).toBe('acme.localhost');
    expect(options.allowCredentials).toBeUndefined();
    expect(options.userVerification).toBe('preferred');
    const empty = await buildAuthenticationOptions({ rp: RP, challenge: new Uint8Array(32), allowCredentials: [], userVerification: 'required', timeoutMs: 1 });
    expect(empty.allowCredentials).toBeUndefined();
  });

  it('lists the user\'s credentials for username-first sign-in', async () => {
    const options = await buildAuthenticationOptions({
      rp: RP,
      challenge: new Uint8Array(32).fill(1),
      allowCredentials: [{ id: 'AQID', transports: ['usb', 'nfc'] }, { id: 'BAUG' }],
      userVerification: 'required',
      timeoutMs: 60_000,
    });
    expect(options.allowCredentials).toEqual([
      { id: 'AQID', transports: ['usb', 'nfc'], type: 'public-key' },
      { id: 'BAUG', type: 'public-key' },
    ]);
    expect(options.challenge).toBe(Buffer.alloc(32, 1).toString('base64url'));
  });
});
