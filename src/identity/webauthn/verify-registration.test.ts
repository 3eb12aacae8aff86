import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../lib/errors.js';
import { ManualClock, systemClock } from '../../lib/clock.js';
import { verifyRegistration, type RegistrationPolicy } from './verify-registration.js';
import { WebauthnErrorCode } from './webauthn-errors.js';
import {
  errorCodeOf,
  freshChallenge,
  PORTAL_ORIGIN,
  RELAY_ORIGIN,
  RELAY_RP_ID,
  RP,
  TEST_KEY_AAGUID,
  TEST_KEY_AAGUID_BYTES,
  trustedModel,
} from './test-support/ceremony-fixture.js';
import { SoftwareAuthenticator, type RegisterOptions } from './test-support/software-authenticator.js';
import { createAttestationChain } from './test-support/test-certificate-authority.js';

const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';
const vendorChain = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES, intermediateCount: 1 });
const policy: RegistrationPolicy = { userVerification: 'preferred', trustedModels: [trustedModel(vendorChain)] };

function ceremony(overrides: Partial<RegisterOptions> = {}, authenticator = new SoftwareAuthenticator({ aaguid: TEST_KEY_AAGUID_BYTES })) {
  const challenge = freshChallenge();
  const response = authenticator.register({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, userId: new Uint8Array([7]), ...overrides });
  return { authenticator, challenge, response };
}

async function verify(response: unknown, challenge: Uint8Array, overrides: Partial<RegistrationPolicy> = {}) {
  return verifyRegistration({ response, expectedChallenge: challenge, rp: RP, policy: { ...policy, ...overrides }, clock: systemClock });
}

describe('verifyRegistration: accepted ceremonies', () => {
  it('registers a "none" attestation as swk and returns what sign-in needs', async () => {
    const { authenticator, challenge, response } = ceremony({ attestation: { format: 'none' } });
    const result = await verify(response, challenge);
    expect(result).toMatchObject({
      credentialId: authenticator.id,
      counter: 0,
      aaguid: TEST_KEY_AAGUID,
      transports: ['usb'],
      backedUp: false,
      deviceType: 'singleDevice',
      userVerified: true,
      authenticatorClass: 'swk',
      attestationFormat: 'none',
    });
    expect(Buffer.from(result.publicKey).equals(Buffer.from(authenticator.cosePublicKey()))).toBe(true);
  });

  it('registers packed attestation chained to an allowlisted root with its AAGUID as hwk', async () => {
    const { challenge, response } = ceremony({ attestation: { format: 'packed', chain: vendorChain } });
    const result = await verify(response, challenge);
    expect(result.authenticatorClass).toBe('hwk');
    expect(result.model).toBe('Test Key 5');
    expect(result.attestationFormat).toBe('packed');
  });

  it('registers packed attestation from an unknown root as swk', async () => {
    const strangerChain = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES, vendor: 'Unknown Vendor' });
    const { challenge, response } = ceremony({ attestation: { format: 'packed', chain: strangerChain } });
    const result = await verify(response, challenge);
    expect(result.authenticatorClass).toBe('swk');
    expect(result.classificationReason).toMatch(/does not reach/);
  });

  it('registers a genuine chain whose AAGUID is not allowlisted as swk', async () => {
    const otherAaguid = new Uint8Array(16).fill(0x42);
    const chain = createAttestationChain({ aaguid: otherAaguid, root: vendorChain.root });
    const authenticator = new SoftwareAuthenticator({ aaguid: otherAaguid });
    const { challenge, response } = ceremony({ attestation: { format: 'packed', chain } }, authenticator);
    expect((await verify(response, challenge)).authenticatorClass).toBe('swk');
  });

  it('registers packed self attestation (EdDSA key) as swk', async () => {
    const authenticator = new SoftwareAuthenticator({ algorithm: 'EdDSA', aaguid: TEST_KEY_AAGUID_BYTES });
    const { challenge, response } = ceremony({ attestation: { format: 'packed-self' } }, authenticator);
    expect((await verify(response, challenge)).authenticatorClass).toBe('swk');
  });

  it('ignores a statement format it does not evaluate (tpm) and registers swk', async () => {
    const attStmt = new Map<string, unknown>([['ver', '2.0'], ['alg', -7], ['sig', new Uint8Array(8)]]);
    const { challenge, response } = ceremony({ attestation: { format: 'raw', fmt: 'tpm', attStmt } });
    const result = await verify(response, challenge);
    expect(result.authenticatorClass).toBe('swk');
    expect(result.attestationFormat).toBe('tpm');
    expect(result.classificationReason).toBe('"tpm" attestation statement is not verified offline, so it proves no model');
  });

  it('gives swk to a backup-eligible credential even with an allowlisted chain', async () => {
    const authenticator = new SoftwareAuthenticator({ aaguid: TEST_KEY_AAGUID_BYTES, backupEligible: true });
    const { challenge, response } = ceremony({ attestation: { format: 'packed', chain: vendorChain } }, authenticator);
    const result = await verify(response, challenge);
    expect(result.authenticatorClass).toBe('swk');
    expect(result.deviceType).toBe('multiDevice');
  });

  it('gives swk when the allowlisted chain has expired at the injected clock time', async () => {
    const { challenge, response } = ceremony({ attestation: { format: 'packed', chain: vendorChain } });
    const result = await verifyRegistration({
      response,
      expectedChallenge: challenge,
      rp: RP,
      policy,
      clock: new ManualClock(Date.UTC(2050, 5, 1)),
    });
    expect(result.authenticatorClass).toBe('swk');
  });

  it('registers fido-u2f attestation chained to an allowlisted model root as hwk (no AAGUID: matched by chain)', async () => {
    const u2fChain = createAttestationChain({ vendor: 'U2F Vendor' });
    const u2fModel = trustedModel(u2fChain, '04040404-0404-0404-0404-040404040404', 'U2F Key');
    const { challenge, response } = ceremony({ attestation: { format: 'fido-u2f', chain: u2fChain } }, new SoftwareAuthenticator());
    const result = await verify(response, challenge, { trustedModels: [trustedModel(vendorChain), u2fModel] });
    expect(result).toMatchObject({ authenticatorClass: 'hwk', model: 'U2F Key', attestationFormat: 'fido-u2f', aaguid: ZERO_AAGUID });
    expect(result.classificationReason).toContain('"fido-u2f" attestation chains to U2F Key');
  });

  it('registers fido-u2f attestation from a root no allowlisted model has as swk', async () => {
    const strangerChain = createAttestationChain({ vendor: 'Unknown U2F Vendor' });
    const { challenge, response } = ceremony({ attestation: { format: 'fido-u2f', chain: strangerChain } }, new SoftwareAuthenticator());
    const result = await verify(response, challenge);
    expect(result).toMatchObject({ authenticatorClass: 'swk', model: undefined, attestationFormat: 'fido-u2f' });
    expect(result.classificationReason).toMatch(/"fido-u2f" attestation chain does not reach the root of any allowlisted model/);
  });

  it('names the format the authenticator sent in attestationFormat and in the reason', async () => {
    const u2fChain = createAttestationChain({ vendor: 'U2F Vendor' });
    const cases: { attestation: RegisterOptions['attestation']; fmt: string; authenticator?: SoftwareAuthenticator }[] = [
      { attestation: { format: 'none' }, fmt: 'none' },
      { attestation: { format: 'packed', chain: vendorChain }, fmt: 'packed' },
      { attestation: { format: 'packed-self' }, fmt: 'packed' },
      { attestation: { format: 'fido-u2f', chain: u2fChain }, fmt: 'fido-u2f', authenticator: new SoftwareAuthenticator() },
      ...['tpm', 'android-key', 'android-safetynet', 'apple'].map((fmt) => ({
        attestation: { format: 'raw' as const, fmt, attStmt: new Map<string, unknown>([['sig', new Uint8Array(8)]]) },
        fmt,
      })),
    ];
    for (const { attestation, fmt, authenticator } of cases) {
      const { challenge, response } = ceremony({ attestation }, authenticator);
      const result = await verify(response, challenge);
      expect(result.attestationFormat, fmt).toBe(fmt);
      expect(result.classificationReason, fmt).toContain(`"${fmt}"`);
    }
  });

  it('accepts every configured origin and the body as a JSON string', async () => {
    const { challenge, response } = ceremony({ origin: 'https://sso.acme.localhost:8443' });
    expect((await verify(JSON.stringify(response), challenge)).credentialId).toBe(response.id);
  });
});

describe('verifyRegistration: refused ceremonies', () => {
  it('refuses a lookalike relay origin', async () => {
    const { challenge, response } = ceremony({ origin: RELAY_ORIGIN });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.originMismatch);
  });

  it('refuses a subdomain of the RP ID that is not in the origin list', async () => {
    const { challenge, response } = ceremony({ origin: 'http://wiki.acme.localhost' });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.originMismatch);
  });

  it('refuses a credential scoped to another RP ID (relay registers for its own domain)', async () => {
    const { challenge, response } = ceremony({ rpId: RELAY_RP_ID });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.rpIdMismatch);
  });

  it('refuses a response to another challenge', async () => {
    const { response } = ceremony();
    expect(await errorCodeOf(() => verify(response, freshChallenge()))).toBe(WebauthnErrorCode.challengeMismatch);
  });

  it('refuses when user presence is not asserted', async () => {
    const { challenge, response } = ceremony({ userPresent: false });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.userNotPresent);
  });

  it('refuses without user verification when policy requires it, accepts when preferred', async () => {
    const { challenge, response } = ceremony({ userVerified: false });
    expect(await errorCodeOf(() => verify(response, challenge, { userVerification: 'required' }))).toBe(WebauthnErrorCode.userNotVerified);
    expect((await verify(response, challenge)).userVerified).toBe(false);
  });

  it('refuses a get (assertion) client data type in a registration', async () => {
    const { challenge, response } = ceremony({ clientData: { type: 'webauthn.get' } });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.typeMismatch);
  });

  it('refuses a ceremony run in a cross-origin iframe', async () => {
    const framed = ceremony({ clientData: { crossOrigin: true } });
    expect(await errorCodeOf(() => verify(framed.response, framed.challenge))).toBe(WebauthnErrorCode.crossOrigin);
    const topOrigin = ceremony({ clientData: { topOrigin: RELAY_ORIGIN } });
    expect(await errorCodeOf(() => verify(topOrigin.response, topOrigin.challenge))).toBe(WebauthnErrorCode.crossOrigin);
  });

  it('refuses a packed statement signed by a key other than the x5c leaf', async () => {
    const forger = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES });
    const chain = { ...vendorChain, leaf: { ...vendorChain.leaf, privateKey: forger.leaf.privateKey } };
    const { challenge, response } = ceremony({ attestation: { format: 'packed', chain } });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.attestationInvalid);
  });

  it('refuses a leaf certificate whose AAGUID extension names another model', async () => {
    const chain = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES, leafAaguid: new Uint8Array(16).fill(1) });
    const { challenge, response } = ceremony({ attestation: { format: 'packed', chain } });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.attestationInvalid);
  });

  it('refuses a credential key algorithm outside ES256/EdDSA/RS256', async () => {
    const authenticator = new SoftwareAuthenticator({ coseAlgorithm: -35 }); // ES384 label on a P-256 key
    const { challenge, response } = ceremony({}, authenticator);
    const error = await verify(response, challenge).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe(WebauthnErrorCode.unsupportedAlgorithm);
    expect((error as GatehouseError).status).toBe(400);
  });

  it('refuses malformed responses with webauthn_malformed and status 400', async () => {
    const { challenge, response } = ceremony();
    const cases: unknown[] = [
      'not json',
      null,
      { ...response, type: 'password' },
      { ...response, id: 'AAAA', rawId: response.rawId },
      { ...response, response: { ...response.response, attestationObject: '%%%garbage%%%' } },
      { ...response, response: { ...response.response, attestationObject: Buffer.from('not cbor').toString('base64url') } },
      { ...response, response: { ...response.response, clientDataJSON: Buffer.from('{"type":').toString('base64url') } },
      { ...response, response: { ...response.response, clientDataJSON: Buffer.from('[1]').toString('base64url') } },
    ];
    for (const body of cases) {
      const error = await verify(body, challenge).catch((e: unknown) => e);
      expect(error, JSON.stringify(body)?.slice(0, 80)).toBeInstanceOf(GatehouseError);
      expect((error as GatehouseError).code).toBe(WebauthnErrorCode.malformed);
      expect((error as GatehouseError).status).toBe(400);
    }
  });

  it('shows only the generic public message and keeps the reason private', async () => {
    const { challenge, response } = ceremony({ origin: RELAY_ORIGIN });
    const error = (await verify(response, challenge).catch((e: unknown) => e)) as GatehouseError;
    expect(error.status).toBe(401);
    expect(error.publicMessage).toBe('Security key registration failed. Try again.');
    expect(error.detail).toContain(RELAY_ORIGIN);
    expect(error.publicMessage).not.toContain('origin');
  });
});
