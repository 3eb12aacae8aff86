import fc from 'fast-check';
import { SettingsService } from '@simplewebauthn/server';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../lib/errors.js';
import { systemClock } from '../../lib/clock.js';
import { verifyAuthentication } from './verify-authentication.js';
import { verifyRegistration } from './verify-registration.js';
import { freshChallenge, PORTAL_ORIGIN, RP, TEST_KEY_AAGUID_BYTES, trustedModel } from './test-support/ceremony-fixture.js';
import { SoftwareAuthenticator } from './test-support/software-authenticator.js';
import { createAttestationChain } from './test-support/test-certificate-authority.js';

/** Bad input never crashes: every hostile body ends as a GatehouseError, never a TypeError or a pass. */

const key = new SoftwareAuthenticator();
const credential = { id: key.id, publicKey: key.cosePublicKey(), counter: 0 };
const chain = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES });
const u2fChain = createAttestationChain({ vendor: 'U2F Vendor' });
const policy = {
  userVerification: 'preferred' as const,
  trustedModels: [trustedModel(chain), trustedModel(u2fChain, '04040404-0404-0404-0404-040404040404', 'U2F Key')],
};

async function outcome(action: () => Promise<unknown>): Promise<'passed' | 'gatehouse-error'> {
  try {
    await action();
    return 'passed';
  } catch (error) {
    if (error instanceof GatehouseError) return 'gatehouse-error';
    throw error;
  }
}

function flipByte(base64url: string, index: number, xor: number): string {
  const bytes = Buffer.from(base64url, 'base64url');
  const at = index % bytes.length;
  bytes[at] = bytes[at]! ^ xor;
  return bytes.toString('base64url');
}

describe('hostile input', () => {
  it('rejects arbitrary JSON bodies with a GatehouseError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        const challenge = freshChallenge();
        expect(await outcome(() => verifyAuthentication({ response: body, expectedChallenge: challenge, rp: RP, credential, requireUserVerification: false }))).toBe('gatehouse-error');
        expect(await outcome(() => verifyRegistration({ response: body, expectedChallenge: challenge, rp: RP, policy, clock: systemClock }))).toBe('gatehouse-error');
      }),
      { numRuns: 200 },
    );
  });

  it('never accepts an assertion with any flipped byte', async () => {
    const fields = ['clientDataJSON', 'authenticatorData', 'signature'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fc.nat(), fc.integer({ min: 1, max: 255 }), async (field, index, xor) => {
        const challenge = freshChallenge();
        const response = key.authenticate({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, counter: 5 });
        const tampered = { ...response, response: { ...response.response, [field]: flipByte(response.response[field], index, xor) } };
        const verify = () => verifyAuthentication({ response: tampered, expectedChallenge: challenge, rp: RP, credential, requireUserVerification: false });
        expect(await outcome(verify)).toBe('gatehouse-error');
      }),
      { numRuns: 300 },
    );
  });

  const attested = [
    { format: 'packed', attestation: { format: 'packed', chain } as const, aaguid: TEST_KEY_AAGUID_BYTES },
    { format: 'fido-u2f', attestation: { format: 'fido-u2f', chain: u2fChain } as const, aaguid: undefined },
  ];
  for (const { format, attestation, aaguid } of attested) it(`turns any flipped byte in a ${format} registration into a GatehouseError or a valid result`, async () => {
    const authenticator = new SoftwareAuthenticator(aaguid ? { aaguid } : {});
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('clientDataJSON', 'attestationObject'), fc.nat(), fc.integer({ min: 1, max: 255 }), async (field, index, xor) => {
        const challenge = freshChallenge();
        const response = authenticator.register({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, attestation });
        const tampered = { ...response, response: { ...response.response, [field]: flipByte(response.response[field], index, xor) } };
        const result = await verifyRegistration({ response: tampered, expectedChallenge: challenge, rp: RP, policy, clock: systemClock }).catch(
          (error: unknown) => {
            if (error instanceof GatehouseError) return undefined;
            throw error;
          },
        );
        // A flipped bit may land in an unsigned part of the CBOR framing; it must never earn hwk then.
        if (result && result.authenticatorClass === 'hwk') expect(result.publicKey).toEqual(authenticator.cosePublicKey());
      }),
      { numRuns: 300 },
    );
  });

  // A U2F statement signs the raw point only: COSE framing the browser wrote around it (here the key
  // type label, found by the fuzzer above) must be refused, not stored as an hwk key no sign-in can use.
  for (const { format, attestation, aaguid } of attested) it(`refuses a ${format} registration whose COSE key lost its key type (webauthn_malformed)`, async () => {
    const authenticator = new SoftwareAuthenticator(aaguid ? { aaguid } : {});
    const challenge = freshChallenge();
    const response = authenticator.register({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, attestation });
    const object = Buffer.from(response.response.attestationObject, 'base64url');
    const cose = Buffer.from(authenticator.cosePublicKey());
    const at = object.indexOf(cose);
    expect(at).toBeGreaterThan(0);
    object[at + 1] = 0x00; // label 1 (kty) becomes label 0
    const tampered = { ...response, response: { ...response.response, attestationObject: object.toString('base64url') } };
    await expect(verifyRegistration({ response: tampered, expectedChallenge: challenge, rp: RP, policy, clock: systemClock })).rejects.toMatchObject({ code: 'webauthn_malformed' });
  });

  it('ignores root certificates set in the library (they would turn on CRL downloads): trust is the per-model allowlist', async () => {
    const elsewhere = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES, vendor: 'Elsewhere' });
    SettingsService.setRootCertificates({ identifier: 'packed', certificates: [elsewhere.root.pem] });
    SettingsService.setRootCertificates({ identifier: 'fido-u2f', certificates: [elsewhere.root.pem] });
    try {
      const challenge = freshChallenge();
      const authenticator = new SoftwareAuthenticator({ aaguid: TEST_KEY_AAGUID_BYTES });
      const response = authenticator.register({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, attestation: { format: 'packed', chain } });
      const result = await verifyRegistration({ response, expectedChallenge: challenge, rp: RP, policy, clock: systemClock });
      expect(result.authenticatorClass).toBe('hwk');
    } finally {
      SettingsService.setRootCertificates({ identifier: 'packed', certificates: [] });
      SettingsService.setRootCertificates({ identifier: 'fido-u2f', certificates: [] });
    }
  });
});
