import { describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/clock.js';
import { verifyAuthentication, type StoredCredential } from './verify-authentication.js';
import { verifyRegistration, type RegistrationPolicy } from './verify-registration.js';
import { WebauthnErrorCode } from './webauthn-errors.js';
import { errorCodeOf, freshChallenge, PORTAL_ORIGIN, RELAY_ORIGIN, RP, TEST_KEY_AAGUID_BYTES, trustedModel } from './test-support/ceremony-fixture.js';
import { SoftwareAuthenticator, type AttestationChoice } from './test-support/software-authenticator.js';
import { createAttestationChain } from './test-support/test-certificate-authority.js';

/**
 * WebAuthn L3 §5.8.1 dropped CollectedClientData.tokenBinding and §7.1/§7.2 no longer check it: a
 * client that still sends it, in whatever shape, is served like one that does not. Everything else
 * in clientDataJSON stays exactly as strict, and the signatures still cover the bytes as sent.
 */

const SHAPES: Record<string, unknown> = {
  present: { status: 'present', id: 'AAECAwQFBgcICQoLDA0ODw' },
  supported: { status: 'supported' },
  'not-supported': { status: 'not-supported' },
  notSupported: { status: 'notSupported' },
  'garbage object': { status: 42, id: ['x'], extra: { nested: true } },
  'empty object': {},
  'string "unused" (a U2F bridge)': 'unused',
  'string "present"': 'present',
  null: null,
  array: ['present'],
  number: 1,
};

const vendorChain = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES });
const u2fChain = createAttestationChain({ vendor: 'U2F Vendor' });
const policy: RegistrationPolicy = {
  userVerification: 'preferred',
  trustedModels: [trustedModel(vendorChain), trustedModel(u2fChain, '04040404-0404-0404-0404-040404040404', 'U2F Key')],
};
const USER_ID = new Uint8Array([5, 6, 7]);

/** The statement formats whose signature covers clientDataJSON, and "none" whose does not. */
const FORMATS: { name: string; attestation: AttestationChoice; authenticator: () => SoftwareAuthenticator; hwk: boolean }[] = [
  { name: 'none', attestation: { format: 'none' }, authenticator: () => new SoftwareAuthenticator(), hwk: false },
  { name: 'packed', attestation: { format: 'packed', chain: vendorChain }, authenticator: () => new SoftwareAuthenticator({ aaguid: TEST_KEY_AAGUID_BYTES }), hwk: true },
  { name: 'fido-u2f', attestation: { format: 'fido-u2f', chain: u2fChain }, authenticator: () => new SoftwareAuthenticator(), hwk: true },
];

function register(clientData: Record<string, unknown>, format = FORMATS[0]!, overrides: { origin?: string } = {}) {
  const authenticator = format.authenticator();
  const challenge = freshChallenge();
  const response = authenticator.register({
    challenge,
    origin: overrides.origin ?? PORTAL_ORIGIN,
    rpId: RP.id,
    userId: USER_ID,
    attestation: format.attestation,
    clientData,
  });
  return { authenticator, challenge, response };
}

const verifyRegistered = (response: unknown, challenge: Uint8Array) =>
  verifyRegistration({ response, expectedChallenge: challenge, rp: RP, policy, clock: systemClock });

/** Re-serialises clientDataJSON without tokenBinding: what "strip it before the library" would post. */
function withoutTokenBinding(clientDataJSON: string): string {
  const { tokenBinding: _dropped, ...rest } = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as Record<string, unknown>;
  return Buffer.from(JSON.stringify(rest), 'utf8').toString('base64url');
}

describe('tokenBinding in registration', () => {
  for (const format of FORMATS) {
    it(`accepts every shape of tokenBinding with ${format.name} attestation, and classifies as without it`, async () => {
      for (const [shape, tokenBinding] of Object.entries(SHAPES)) {
        const { challenge, response } = register({ tokenBinding }, format);
        const result = await verifyRegistered(response, challenge).catch((error: unknown) => error);
        expect(result, shape).toMatchObject({ attestationFormat: format.name, authenticatorClass: format.hwk ? 'hwk' : 'swk' });
      }
    });
  }

  it('still refuses a wrong origin, challenge, type or framing with their codes when tokenBinding is present', async () => {
    for (const tokenBinding of Object.values(SHAPES)) {
      const relay = register({ tokenBinding }, FORMATS[1], { origin: RELAY_ORIGIN });
      expect(await errorCodeOf(() => verifyRegistered(relay.response, relay.challenge))).toBe(WebauthnErrorCode.originMismatch);
      const other = register({ tokenBinding });
      expect(await errorCodeOf(() => verifyRegistered(other.response, freshChallenge()))).toBe(WebauthnErrorCode.challengeMismatch);
      const get = register({ tokenBinding, type: 'webauthn.get' });
      expect(await errorCodeOf(() => verifyRegistered(get.response, get.challenge))).toBe(WebauthnErrorCode.typeMismatch);
      const framed = register({ tokenBinding, crossOrigin: true });
      expect(await errorCodeOf(() => verifyRegistered(framed.response, framed.challenge))).toBe(WebauthnErrorCode.crossOrigin);
    }
  });

  it('verifies the statement over clientDataJSON as sent: removing tokenBinding after signing breaks it', async () => {
    for (const format of FORMATS.filter((candidate) => candidate.name !== 'none')) {
      const { challenge, response } = register({ tokenBinding: SHAPES.present }, format);
      const stripped = { ...response, response: { ...response.response, clientDataJSON: withoutTokenBinding(response.response.clientDataJSON) } };
      expect(await errorCodeOf(() => verifyRegistered(stripped, challenge)), format.name).toBe(WebauthnErrorCode.attestationInvalid);
    }
  });
});

describe('tokenBinding in authentication', () => {
  async function enrolled(): Promise<{ authenticator: SoftwareAuthenticator; stored: StoredCredential }> {
    const { authenticator, challenge, response } = register({});
    const registered = await verifyRegistered(response, challenge);
    return { authenticator, stored: { id: registered.credentialId, publicKey: registered.publicKey, counter: registered.counter, userId: USER_ID } };
  }

  const verifyAsserted = (response: unknown, challenge: Uint8Array, stored: StoredCredential) =>
    verifyAuthentication({ response, expectedChallenge: challenge, rp: RP, credential: stored, requireUserVerification: false, requireUserHandle: true });

  it('accepts every shape of tokenBinding', async () => {
    const { authenticator, stored } = await enrolled();
    let counter = 0;
    for (const [shape, tokenBinding] of Object.entries(SHAPES)) {
      counter += 1;
      const challenge = freshChallenge();
      const response = authenticator.authenticate({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, clientData: { tokenBinding } });
      const result = await verifyAsserted(response, challenge, { ...stored, counter: counter - 1 }).catch((error: unknown) => error);
      expect(result, shape).toMatchObject({ credentialId: stored.id, newCounter: counter });
    }
  });

  it('still refuses a wrong origin, challenge, type or framing with their codes when tokenBinding is present', async () => {
    const { authenticator, stored } = await enrolled();
    for (const tokenBinding of Object.values(SHAPES)) {
      const assert = (clientData: Record<string, unknown>, origin = PORTAL_ORIGIN) => {
        const challenge = freshChallenge();
        return { challenge, response: authenticator.authenticate({ challenge, origin, rpId: RP.id, clientData: { tokenBinding, ...clientData } }) };
      };
      const relay = assert({}, RELAY_ORIGIN);
      expect(await errorCodeOf(() => verifyAsserted(relay.response, relay.challenge, stored))).toBe(WebauthnErrorCode.originMismatch);
      const other = assert({});
      expect(await errorCodeOf(() => verifyAsserted(other.response, freshChallenge(), stored))).toBe(WebauthnErrorCode.challengeMismatch);
      const create = assert({ type: 'webauthn.create' });
      expect(await errorCodeOf(() => verifyAsserted(create.response, create.challenge, stored))).toBe(WebauthnErrorCode.typeMismatch);
      const framed = assert({ topOrigin: RELAY_ORIGIN });
      expect(await errorCodeOf(() => verifyAsserted(framed.response, framed.challenge, stored))).toBe(WebauthnErrorCode.crossOrigin);
    }
  });

  it('verifies the signature over clientDataJSON as sent: removing tokenBinding after signing breaks it', async () => {
    const { authenticator, stored } = await enrolled();
    const challenge = freshChallenge();
    const response = authenticator.authenticate({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, clientData: { tokenBinding: SHAPES.present } });
    const stripped = { ...response, response: { ...response.response, clientDataJSON: withoutTokenBinding(response.response.clientDataJSON) } };
    expect(await errorCodeOf(() => verifyAsserted(stripped, challenge, stored))).toBe(WebauthnErrorCode.badSignature);
  });
});
