import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../lib/errors.js';
import { systemClock } from '../../lib/clock.js';
import { verifyAuthentication, type StoredCredential } from './verify-authentication.js';
import { verifyRegistration } from './verify-registration.js';
import { readAssertionCredentialId } from './read-assertion-credential-id.js';
import { WebauthnErrorCode } from './webauthn-errors.js';
import { errorCodeOf, freshChallenge, PORTAL_ORIGIN, RELAY_ORIGIN, RELAY_RP_ID, RP } from './test-support/ceremony-fixture.js';
import { SoftwareAuthenticator, type AuthenticateOptions } from './test-support/software-authenticator.js';

const USER_ID = new Uint8Array([1, 2, 3, 4]);

/** A credential registered through verifyRegistration, as the identity service would store it. */
async function enrol(authenticator = new SoftwareAuthenticator()): Promise<{ authenticator: SoftwareAuthenticator; stored: StoredCredential }> {
  const challenge = freshChallenge();
  const response = authenticator.register({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, userId: USER_ID });
  const registered = await verifyRegistration({
    response,
    expectedChallenge: challenge,
    rp: RP,
    policy: { userVerification: 'preferred', trustedModels: [] },
    clock: systemClock,
  });
  return { authenticator, stored: { id: registered.credentialId, publicKey: registered.publicKey, counter: registered.counter, userId: USER_ID } };
}

let key: SoftwareAuthenticator;
let stored: StoredCredential;
beforeAll(async () => {
  ({ authenticator: key, stored } = await enrol());
});

function signIn(overrides: Partial<AuthenticateOptions> = {}) {
  const challenge = freshChallenge();
  const response = key.authenticate({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id, ...overrides });
  return { challenge, response };
}

function verify(response: unknown, challenge: Uint8Array, options: { credential?: StoredCredential; requireUserVerification?: boolean; requireUserHandle?: boolean } = {}) {
  return verifyAuthentication({
    response,
    expectedChallenge: challenge,
    rp: RP,
    credential: options.credential ?? stored,
    requireUserVerification: options.requireUserVerification ?? false,
    requireUserHandle: options.requireUserHandle ?? false,
  });
}

describe('verifyAuthentication: accepted assertions', () => {
  it('verifies a genuine assertion and returns the new counter', async () => {
    const { challenge, response } = signIn({ counter: 10 });
    const result = await verify(response, challenge, { requireUserVerification: true, requireUserHandle: true });
    expect(result).toEqual({ credentialId: stored.id, newCounter: 10, userVerified: true, backedUp: false, deviceType: 'singleDevice' });
  });

  it('reads the credential id and user handle for the lookup before verification', () => {
    const { response } = signIn();
    const identity = readAssertionCredentialId(response);
    expect(identity.credentialId).toBe(stored.id);
    expect(Buffer.from(identity.userHandle!).equals(Buffer.from(USER_ID))).toBe(true);
  });

  it('accepts counter 0 forever from an authenticator that does not count (synced passkey)', async () => {
    const { authenticator, stored: passkey } = await enrol(new SoftwareAuthenticator({ countsSignatures: false, backupEligible: true, backedUp: true }));
    for (let i = 0; i < 2; i += 1) {
      const challenge = freshChallenge();
      const response = authenticator.authenticate({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id });
      const result = await verify(response, challenge, { credential: passkey });
      expect(result).toMatchObject({ newCounter: 0, backedUp: true, deviceType: 'multiDevice' });
    }
  });

  it('accepts missing UV when it is not required and reports it', async () => {
    const { challenge, response } = signIn({ userVerified: false });
    expect((await verify(response, challenge)).userVerified).toBe(false);
  });

  it('accepts an EdDSA credential', async () => {
    const { authenticator, stored: edKey } = await enrol(new SoftwareAuthenticator({ algorithm: 'EdDSA' }));
    const challenge = freshChallenge();
    const response = authenticator.authenticate({ challenge, origin: PORTAL_ORIGIN, rpId: RP.id });
    expect((await verify(response, challenge, { credential: edKey })).newCounter).toBe(1);
  });
});

describe('verifyAuthentication: phishing relay and origin binding', () => {
  it('refuses an assertion made on a lookalike relay origin', async () => {
    // The relay forwards our genuine challenge; the browser writes the relay's origin.
    const { challenge, response } = signIn({ origin: RELAY_ORIGIN, rpId: RELAY_RP_ID });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.originMismatch);
  });

  it('refuses http://acme-okta.localhost too', async () => {
    const { challenge, response } = signIn({ origin: 'http://acme-okta.localhost' });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.originMismatch);
  });

  it('refuses a subdomain of the RP ID that is not in the origin list (RP ID is a parent domain)', async () => {
    const { challenge, response } = signIn({ origin: 'http://forum.acme.localhost' });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.originMismatch);
  });

  it('refuses origins that only resemble a listed one', async () => {
    for (const origin of ['http://sso.acme.localhost/', 'HTTP://sso.acme.localhost', 'http://sso.acme.localhost:80', 'https://sso.acme.localhost']) {
      const { challenge, response } = signIn({ origin });
      expect(await errorCodeOf(() => verify(response, challenge)), origin).toBe(WebauthnErrorCode.originMismatch);
    }
  });

  it('refuses a signature over the relay RP ID hash', async () => {
    const { challenge, response } = signIn({ rpId: RELAY_RP_ID });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.rpIdMismatch);
  });

  it('refuses a ceremony in a cross-origin iframe', async () => {
    const framed = signIn({ clientData: { crossOrigin: true } });
    expect(await errorCodeOf(() => verify(framed.response, framed.challenge))).toBe(WebauthnErrorCode.crossOrigin);
    const withTop = signIn({ clientData: { topOrigin: RELAY_ORIGIN } });
    expect(await errorCodeOf(() => verify(withTop.response, withTop.challenge))).toBe(WebauthnErrorCode.crossOrigin);
  });
});

describe('verifyAuthentication: refused assertions', () => {
  it('refuses an assertion for another challenge (replay)', async () => {
    const { response } = signIn();
    expect(await errorCodeOf(() => verify(response, freshChallenge()))).toBe(WebauthnErrorCode.challengeMismatch);
  });

  it('refuses a counter that did not grow: possible cloned key', async () => {
    const credential = { ...stored, counter: 50 };
    const same = signIn({ counter: 50 });
    expect(await errorCodeOf(() => verify(same.response, same.challenge, { credential }))).toBe(WebauthnErrorCode.counterRegression);
    const lower = signIn({ counter: 7 });
    expect(await errorCodeOf(() => verify(lower.response, lower.challenge, { credential }))).toBe(WebauthnErrorCode.counterRegression);
    const zero = signIn({ counter: 0 });
    expect(await errorCodeOf(() => verify(zero.response, zero.challenge, { credential }))).toBe(WebauthnErrorCode.counterRegression);
    const higher = signIn({ counter: 51 });
    expect((await verify(higher.response, higher.challenge, { credential })).newCounter).toBe(51);
  });

  it('reports a bad signature, not a clone, when someone without the key sends a low counter', async () => {
    const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const { challenge, response } = signIn({ counter: 1, signingKey: intruder });
    expect(await errorCodeOf(() => verify(response, challenge, { credential: { ...stored, counter: 50 } }))).toBe(WebauthnErrorCode.badSignature);
  });

  it('refuses when user presence is not asserted', async () => {
    const { challenge, response } = signIn({ userPresent: false });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.userNotPresent);
  });

  it('refuses without user verification when it is required', async () => {
    const { challenge, response } = signIn({ userVerified: false });
    expect(await errorCodeOf(() => verify(response, challenge, { requireUserVerification: true }))).toBe(WebauthnErrorCode.userNotVerified);
  });

  it('refuses a signature made with another key', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const { challenge, response } = signIn({ signingKey: other });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.badSignature);
  });

  it('refuses authenticator data altered after signing (UV flag raised)', async () => {
    const { challenge, response } = signIn({ userVerified: false });
    const authData = Buffer.from(response.response.authenticatorData, 'base64url');
    authData[32] = authData[32]! | 0x04;
    const tampered = { ...response, response: { ...response.response, authenticatorData: authData.toString('base64url') } };
    expect(await errorCodeOf(() => verify(tampered, challenge, { requireUserVerification: true }))).toBe(WebauthnErrorCode.badSignature);
  });

  it('refuses a garbage signature', async () => {
    const { challenge, response } = signIn();
    const garbage = { ...response, response: { ...response.response, signature: Buffer.from('not a signature').toString('base64url') } };
    expect(await errorCodeOf(() => verify(garbage, challenge))).toBe(WebauthnErrorCode.badSignature);
  });

  it('refuses a non-canonical DER encoding of a genuine signature', async () => {
    const { challenge, response } = signIn();
    const signature = Buffer.from(response.response.signature, 'base64url');
    signature[1] = signature[1]! - 1; // SEQUENCE length one short: BER-tolerant parsers still find (r, s)
    const reencoded = { ...response, response: { ...response.response, signature: signature.toString('base64url') } };
    expect(await errorCodeOf(() => verify(reencoded, challenge))).toBe(WebauthnErrorCode.badSignature);
  });

  it('refuses a registration (webauthn.create) client data used for sign-in', async () => {
    const { challenge, response } = signIn({ clientData: { type: 'webauthn.create' } });
    expect(await errorCodeOf(() => verify(response, challenge))).toBe(WebauthnErrorCode.typeMismatch);
  });

  it('refuses a response for a credential other than the looked-up one', async () => {
    const { challenge, response } = signIn();
    const other = { ...stored, id: Buffer.from('someone else').toString('base64url') };
    expect(await errorCodeOf(() => verify(response, challenge, { credential: other }))).toBe(WebauthnErrorCode.unknownCredential);
  });

  it('refuses a userHandle naming another user, and a discoverable sign-in without one', async () => {
    const wrong = signIn({ userHandle: new Uint8Array([9, 9, 9, 9]) });
    expect(await errorCodeOf(() => verify(wrong.response, wrong.challenge))).toBe(WebauthnErrorCode.userHandleMismatch);
    const missing = signIn({ userHandle: null });
    expect(await errorCodeOf(() => verify(missing.response, missing.challenge, { requireUserHandle: true }))).toBe(
      WebauthnErrorCode.userHandleMismatch,
    );
    expect((await verify(missing.response, missing.challenge)).credentialId).toBe(stored.id);
  });

  it('refuses malformed input with webauthn_malformed and status 400', async () => {
    const { challenge, response } = signIn();
    const r = response.response;
    const authData = Buffer.from(r.authenticatorData, 'base64url');
    const cases: Record<string, unknown> = {
      'garbage base64': { ...response, response: { ...r, authenticatorData: '***!!' } },
      'padded base64': { ...response, response: { ...r, signature: `${r.signature}==` } },
      'wrong credential type': { ...response, type: 'password' },
      'truncated authenticatorData': { ...response, response: { ...r, authenticatorData: authData.subarray(0, 30).toString('base64url') } },
      'trailing bytes in authenticatorData': { ...response, response: { ...r, authenticatorData: Buffer.concat([authData, Buffer.from([0])]).toString('base64url') } },
      'clientDataJSON not JSON': { ...response, response: { ...r, clientDataJSON: Buffer.from('<html>').toString('base64url') } },
      'clientDataJSON not UTF-8': { ...response, response: { ...r, clientDataJSON: Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url') } },
      'challenge not a string': {
        ...response,
        response: { ...r, clientDataJSON: Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 1, origin: PORTAL_ORIGIN })).toString('base64url') },
      },
      'missing response': { id: response.id, rawId: response.rawId, type: 'public-key' },
      'huge signature': { ...response, response: { ...r, signature: 'A'.repeat(100_000) } },
      'array body': [response],
    };
    for (const [name, body] of Object.entries(cases)) {
      const error = await verify(body, challenge).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(GatehouseError);
      expect((error as GatehouseError).code, name).toBe(WebauthnErrorCode.malformed);
      expect((error as GatehouseError).status, name).toBe(400);
    }
  });

  it('gives the client one generic message and a 401 for security failures', async () => {
    const { challenge, response } = signIn({ origin: RELAY_ORIGIN });
    const error = (await verify(response, challenge).catch((e: unknown) => e)) as GatehouseError;
    expect(error.status).toBe(401);
    expect(error.publicMessage).toBe('Sign-in failed. Try again.');
  });
});
