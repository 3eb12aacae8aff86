import { createHash } from 'node:crypto';
import { convertAAGUIDToString, cose, decodeAttestationObject, decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import type { Clock } from '../../lib/clock.js';
import { checkAuthenticatorData } from './check-authenticator-data.js';
import { checkClientData } from './check-client-data.js';
import { classifyAuthenticator, type AuthenticatorClass } from './classify-authenticator.js';
import { parseRegistrationResponse, type Bytes } from './parse-credential-response.js';
import { SUPPORTED_ALGORITHM_IDS } from './supported-algorithms.js';
import { VERIFIED_STATEMENT_FORMATS, verifyAttestationStatement } from './verify-attestation-statement.js';
import { webauthnError, WebauthnErrorCode } from './webauthn-errors.js';
import type { RelyingParty, TrustedAuthenticatorModel, UserVerification } from './webauthn-settings.js';

export interface RegistrationPolicy {
  readonly userVerification: UserVerification;
  readonly trustedModels: readonly TrustedAuthenticatorModel[];
}

export interface VerifyRegistrationInput {
  /** The body posted by startRegistration(), as parsed JSON or as a JSON string. Untrusted. */
  readonly response: unknown;
  /** The challenge bytes issued for this ceremony (the caller stored them; single use is its job). */
  readonly expectedChallenge: Uint8Array;
  readonly rp: RelyingParty;
  readonly policy: RegistrationPolicy;
  readonly clock: Clock;
}

export interface VerifiedRegistration {
  /** base64url, as the browser will send it in `id` at sign-in. */
  readonly credentialId: string;
  /** COSE_Key (RFC 9052 §7) bytes, to store and pass back to verifyAuthentication. */
  readonly publicKey: Uint8Array;
  readonly counter: number;
  readonly aaguid: string;
  readonly transports: readonly string[];
  readonly backedUp: boolean;
  readonly deviceType: 'singleDevice' | 'multiDevice';
  readonly userVerified: boolean;
  readonly authenticatorClass: AuthenticatorClass;
  /** Allowlisted model name when hwk. */
  readonly model: string | undefined;
  /** Why the class was chosen, for the audit log. */
  readonly classificationReason: string;
  /** attestationObject.fmt as the authenticator sent it ('packed', 'fido-u2f', 'tpm', 'none'...), verified or ignored. */
  readonly attestationFormat: string;
}

/**
 * WebAuthn L3 §7.1: verify a registration ceremony and classify the authenticator. Every step is ours
 * (the library's helpers parse CBOR and check signatures): its verifyRegistrationResponse refuses
 * tokenBinding values that L3 ignores, and that member cannot be stripped first, since the statement
 * signs the hash of clientDataJSON as sent; it also reads process-wide roots and metadata.
 */
export async function verifyRegistration(input: VerifyRegistrationInput): Promise<VerifiedRegistration> {
  const { rp, policy } = input;
  const parsed = parseRegistrationResponse(input.response);
  const expectedChallenge = Buffer.from(input.expectedChallenge).toString('base64url');
  checkClientData('registration', parsed.clientDataJSON, { type: 'webauthn.create', challenge: expectedChallenge, origins: rp.origins });

  let fmt: unknown;
  let authData: unknown;
  let attStmt: unknown;
  try {
    const decoded = decodeAttestationObject(parsed.attestationObject);
    fmt = decoded.get('fmt');
    authData = decoded.get('authData');
    attStmt = decoded.get('attStmt');
  } catch (error) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, 'attestationObject is not CBOR', error);
  }
  if (typeof fmt !== 'string' || !(authData instanceof Uint8Array) || !(attStmt instanceof Map)) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, 'attestationObject lacks fmt, authData or attStmt');
  }
  const authenticatorData = checkAuthenticatorData('registration', authData, {
    rpId: rp.id,
    requireUserVerification: policy.userVerification === 'required',
  });
  const { credentialID, credentialPublicKey, aaguid, flags } = authenticatorData;
  if (!flags.at || !credentialID || !credentialPublicKey || !aaguid) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, 'authenticatorData has no attested credential data');
  }
  if (!Buffer.from(credentialID).equals(Buffer.from(parsed.rawId))) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, 'rawId differs from the credential ID in authenticatorData');
  }
  checkAlgorithm(credentialPublicKey);

  // tpm, android-key, android-safetynet and apple need vendor roots and CRL downloads that this
  // offline verifier does not do, and none of them can make a credential hwk here: their statement is
  // ignored, exactly as if the RP had asked for attestation "none" (§5.4.7), and the key is swk.
  const statementVerified = VERIFIED_STATEMENT_FORMATS.has(fmt);
  const x5c = statementVerified
    ? await verifyAttestationStatement({
        fmt,
        attStmt: attStmt as ReadonlyMap<unknown, unknown>,
        authData,
        clientDataHash: createHash('sha256').update(parsed.clientDataJSON).digest(),
        rpIdHash: authenticatorData.rpIdHash,
        credentialId: credentialID,
        credentialPublicKey,
        aaguid,
      })
    : undefined;
  const aaguidString = convertAAGUIDToString(aaguid);
  const classification = classifyAuthenticator({
    fmt,
    statementVerified,
    x5c,
    aaguid: aaguidString,
    backupEligible: flags.be,
    trustedModels: policy.trustedModels,
    now: input.clock.now(),
  });
  return {
    credentialId: parsed.credentialId,
    publicKey: Uint8Array.from(credentialPublicKey),
    counter: authenticatorData.counter,
    aaguid: aaguidString,
    transports: parsed.transports,
    backedUp: flags.bs,
    deviceType: flags.be ? 'multiDevice' : 'singleDevice',
    userVerified: flags.uv,
    authenticatorClass: classification.authenticatorClass,
    model: classification.model,
    classificationReason: classification.reason,
    attestationFormat: fmt,
  };
}

/**
 * The credential public key must be a well-formed COSE key of a supported algorithm (RFC 9053 §7.1,
 * §7.2, RFC 8230 §4): the key type, curve and coordinate sizes that algorithm needs. A U2F attestation
 * signs only the raw point, and the browser writes the COSE framing around it, so framing that the
 * statement does not cover must still be exactly right before it is stored and used for every sign-in.
 */
function checkAlgorithm(credentialPublicKey: Bytes): void {
  let key: ReadonlyMap<number, unknown>;
  try {
    key = decodeCredentialPublicKey(credentialPublicKey) as unknown as ReadonlyMap<number, unknown>;
  } catch (error) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, 'credential public key is not a COSE key', error);
  }
  const alg = key.get(cose.COSEKEYS.alg);
  if (typeof alg !== 'number' || !SUPPORTED_ALGORITHM_IDS.includes(alg)) {
    throw webauthnError('registration', WebauthnErrorCode.unsupportedAlgorithm, `credential key algorithm ${String(alg)} is not supported`);
  }
  const size = (label: number) => {
    const value = key.get(label);
    return value instanceof Uint8Array ? value.length : -1;
  };
  const kty = key.get(cose.COSEKEYS.kty);
  const crv = key.get(cose.COSEKEYS.crv);
  const wellFormed =
    alg === cose.COSEALG.ES256
      ? kty === cose.COSEKTY.EC2 && crv === cose.COSECRV.P256 && size(cose.COSEKEYS.x) === 32 && size(cose.COSEKEYS.y) === 32
      : alg === cose.COSEALG.EdDSA
        ? kty === cose.COSEKTY.OKP && crv === cose.COSECRV.ED25519 && size(cose.COSEKEYS.x) === 32
        : kty === cose.COSEKTY.RSA && size(cose.COSEKEYS.n) >= 256 && size(cose.COSEKEYS.e) > 0;
  if (!wellFormed) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, `credential key for algorithm ${alg} has the wrong key type, curve or size (kty ${String(kty)}, crv ${String(crv)})`);
  }
}
