import { isoCBOR } from '@simplewebauthn/server/helpers';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/clock.js';
import { verifyRegistration, type RegistrationPolicy } from './verify-registration.js';
import { WebauthnErrorCode } from './webauthn-errors.js';
import { errorCodeOf, freshChallenge, PORTAL_ORIGIN, RP, TEST_KEY_AAGUID_BYTES, trustedModel } from './test-support/ceremony-fixture.js';
import { SoftwareAuthenticator, type AttestationChoice } from './test-support/software-authenticator.js';
import { createAttestationChain, issueCertificate, type AttestationChain } from './test-support/test-certificate-authority.js';

/** The statement checks of §8.2 (packed), §8.6 (fido-u2f) and §8.7 (none), through verifyRegistration. */

const u2fChain = createAttestationChain({ vendor: 'U2F Vendor' });
const packedChain = createAttestationChain({ aaguid: TEST_KEY_AAGUID_BYTES });
const policy: RegistrationPolicy = {
  userVerification: 'preferred',
  trustedModels: [trustedModel(packedChain), trustedModel(u2fChain, '04040404-0404-0404-0404-040404040404', 'U2F Key')],
};

type Response = ReturnType<SoftwareAuthenticator['register']>;

function register(attestation: AttestationChoice, authenticator = new SoftwareAuthenticator()) {
  const challenge = freshChallenge();
  const response = authenticator.register({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, attestation });
  return { challenge, response };
}

const verify = (response: unknown, challenge: Uint8Array) =>
  verifyRegistration({ response, expectedChallenge: challenge, rp: RP, policy, clock: systemClock });

/** Rewrites one member of the attestation statement after the authenticator signed. */
function editStatement(response: Response, edit: (attStmt: Map<string, unknown>) => void): Response {
  const object = isoCBOR.decodeFirst<Map<string, unknown>>(new Uint8Array(Buffer.from(response.response.attestationObject, 'base64url')));
  edit(object.get('attStmt') as Map<string, unknown>);
  return { ...response, response: { ...response.response, attestationObject: Buffer.from(isoCBOR.encode(object as never)).toString('base64url') } };
}

function chainWithLeaf(leaf: ReturnType<typeof issueCertificate>, root = packedChain.root): AttestationChain {
  return { root, intermediates: [], leaf, x5c: [leaf.der] };
}

describe('fido-u2f statement (§8.6)', () => {
  it('is refused when signed by a key other than the attestation certificate’s', async () => {
    const forger = createAttestationChain({ vendor: 'U2F Vendor' });
    const chain = { ...u2fChain, leaf: { ...u2fChain.leaf, privateKey: forger.leaf.privateKey } };
    const { challenge, response } = register({ format: 'fido-u2f', chain });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.attestationInvalid);
  });

  it('is refused unless x5c is exactly one certificate', async () => {
    const twoCertificates = createAttestationChain({ vendor: 'U2F Vendor', intermediateCount: 1 });
    const two = register({ format: 'fido-u2f', chain: twoCertificates });
    expect(await errorCodeOf(() => verify(two.response, two.challenge))).toBe(WebauthnErrorCode.attestationInvalid);
    const none = register({ format: 'fido-u2f', chain: u2fChain });
    const withoutX5c = editStatement(none.response, (attStmt) => attStmt.delete('x5c'));
    expect(await errorCodeOf(() => verify(withoutX5c, none.challenge))).toBe(WebauthnErrorCode.attestationInvalid);
  });

  it('is refused without sig', async () => {
    const { challenge, response } = register({ format: 'fido-u2f', chain: u2fChain });
    expect(await errorCodeOf(() => verify(editStatement(response, (attStmt) => attStmt.delete('sig')), challenge))).toBe(
      WebauthnErrorCode.attestationInvalid,
    );
  });

  it('is refused with a non-zero AAGUID (U2F has none; a packed key claiming fido-u2f would dodge the AAGUID check)', async () => {
    const { challenge, response } = register({ format: 'fido-u2f', chain: u2fChain }, new SoftwareAuthenticator({ aaguid: TEST_KEY_AAGUID_BYTES }));
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.attestationInvalid);
  });

  it('is refused for a credential key that is not a P-256 point (an Ed25519 key)', async () => {
    const { challenge, response } = register({ format: 'fido-u2f', chain: u2fChain }, new SoftwareAuthenticator({ algorithm: 'EdDSA' }));
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.attestationInvalid);
  });
});

describe('packed statement (§8.2)', () => {
  it('is refused when self attestation names another algorithm than the credential key’s', async () => {
    const { challenge, response } = register({ format: 'packed-self' });
    const relabelled = editStatement(response, (attStmt) => attStmt.set('alg', -257));
    expect(await errorCodeOf(() => verify(relabelled, challenge))).toBe(WebauthnErrorCode.attestationInvalid);
  });

  it('is refused when the attestation certificate is a CA or lacks OU "Authenticator Attestation"', async () => {
    const subject = { C: 'US', O: 'Gatehouse Test Vendor', OU: 'Authenticator Attestation', CN: 'Leaf' };
    const caLeaf = issueCertificate({ subject, issuer: packedChain.root, ca: true, aaguid: TEST_KEY_AAGUID_BYTES });
    const noOu = issueCertificate({ subject: { ...subject, OU: 'Something else' }, issuer: packedChain.root, ca: false, aaguid: TEST_KEY_AAGUID_BYTES });
    for (const leaf of [caLeaf, noOu]) {
      const { challenge, response } = register({ format: 'packed', chain: chainWithLeaf(leaf) }, new SoftwareAuthenticator({ aaguid: TEST_KEY_AAGUID_BYTES }));
      expect(await errorCodeOf(() => verify(response, challenge)), leaf.subject.OU).toBe(WebauthnErrorCode.attestationInvalid);
    }
  });

  it('is refused with an alg that is not a COSE algorithm, or without sig', async () => {
    const authenticator = new SoftwareAuthenticator({ aaguid: TEST_KEY_AAGUID_BYTES });
    const { challenge, response } = register({ format: 'packed', chain: packedChain }, authenticator);
    expect(await errorCodeOf(() => verify(editStatement(response, (attStmt) => attStmt.set('alg', 12345)), challenge))).toBe(
      WebauthnErrorCode.attestationInvalid,
    );
    expect(await errorCodeOf(() => verify(editStatement(response, (attStmt) => attStmt.delete('sig')), challenge))).toBe(
      WebauthnErrorCode.attestationInvalid,
    );
  });
});

describe('none statement (§8.7)', () => {
  it('is refused when the statement is not empty', async () => {
    const { challenge, response } = register({ format: 'raw', fmt: 'none', attStmt: new Map<string, unknown>([['sig', new Uint8Array(8)]]) });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.attestationInvalid);
  });
});
