import { SettingsService, verifyRegistrationResponse, type VerifiedRegistrationResponse } from '@simplewebauthn/server';
import {
  convertAAGUIDToString,
  cose,
  decodeAttestationObject,
  decodeCredentialPublicKey,
  isoCBOR,
} from '@simplewebauthn/server/helpers';
import type { Clock } from '../../lib/clock.js';
import { checkAuthenticatorData } from './check-authenticator-data.js';
import { checkClientData } from './check-client-data.js';
import { classifyAuthenticator, type AuthenticatorClass } from './classify-authenticator.js';
import { parseRegistrationResponse, toLibraryRegistrationJSON, type Bytes } from './parse-credential-response.js';
import { SUPPORTED_ALGORITHM_IDS } from './supported-algorithms.js';
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
  /** The format the authenticator sent, e.g. 'packed', 'none', 'tpm'. */
  readonly attestationFormat: string;
}

/**
 * Formats whose statement we verify. The others (tpm, android-key, android-safetynet, apple) need
 * vendor roots and CRL downloads that this offline verifier does not do, and none of them can make a
 * credential hwk here; their statement is ignored, exactly as if the RP had asked for attestation
 * "none" (WebAuthn L3 §5.4.7), and the credential registers as swk.
 */
const EVALUATED_FORMATS: ReadonlySet<string> = new Set(['none', 'packed', 'fido-u2f']);

/**
 * The library chains packed/fido-u2f certificates only to roots set in its global SettingsService and
 * then downloads CRLs named in those certificates. Trust is decided in classifyAuthenticator instead,
 * per model and offline; roots set here by anyone would turn on network fetches during sign-up.
 */
function assertLibraryStaysOffline(): void {
  for (const identifier of ['packed', 'fido-u2f'] as const) {
    if (SettingsService.getRootCertificates({ identifier }).length > 0) {
      throw new Error(`SettingsService has ${identifier} root certificates: WebAuthn verification must stay offline`);
    }
  }
}

/** WebAuthn L3 §7.1: verify a registration ceremony and classify the authenticator. */
export async function verifyRegistration(input: VerifyRegistrationInput): Promise<VerifiedRegistration> {
  const { rp, policy } = input;
  assertLibraryStaysOffline();
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
  const { credentialID, credentialPublicKey, aaguid } = authenticatorData;
  if (!authenticatorData.flags.at || !credentialID || !credentialPublicKey || !aaguid) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, 'authenticatorData has no attested credential data');
  }
  if (!Buffer.from(credentialID).equals(Buffer.from(parsed.rawId))) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, 'rawId differs from the credential ID in authenticatorData');
  }
  checkAlgorithm(credentialPublicKey);

  const evaluated = EVALUATED_FORMATS.has(fmt);
  const attestationForLibrary = evaluated
    ? parsed.attestationObject
    : isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
  let result: VerifiedRegistrationResponse;
  try {
    result = await verifyRegistrationResponse({
      response: toLibraryRegistrationJSON(parsed, attestationForLibrary),
      expectedChallenge,
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.id,
      expectedType: 'webauthn.create',
      requireUserPresence: true,
      requireUserVerification: policy.userVerification === 'required',
      supportedAlgorithmIDs: [...SUPPORTED_ALGORITHM_IDS],
    });
  } catch (error) {
    // Origin, RP ID, challenge, flags and algorithm were checked above; what is left is the statement.
    throw webauthnError('registration', WebauthnErrorCode.attestationInvalid, `${fmt} attestation: ${(error as Error).message}`, error);
  }
  if (!result.verified) {
    throw webauthnError('registration', WebauthnErrorCode.attestationInvalid, `${fmt} attestation signature does not verify`);
  }
  const info = result.registrationInfo;
  const aaguidString = convertAAGUIDToString(aaguid);
  const x5c = evaluated ? (attStmt.get('x5c') as unknown) : undefined;
  const classification = classifyAuthenticator({
    fmt: evaluated ? fmt : 'none',
    x5c: Array.isArray(x5c) && x5c.every((cert) => cert instanceof Uint8Array) ? x5c : undefined,
    aaguid: aaguidString,
    backupEligible: authenticatorData.flags.be,
    trustedModels: policy.trustedModels,
    now: input.clock.now(),
  });
  return {
    credentialId: info.credential.id,
    publicKey: info.credential.publicKey,
    counter: info.credential.counter,
    aaguid: aaguidString,
    transports: parsed.transports,
    backedUp: info.credentialBackedUp,
    deviceType: info.credentialDeviceType,
    userVerified: info.userVerified,
    authenticatorClass: classification.authenticatorClass,
    model: classification.model,
    classificationReason: classification.reason,
    attestationFormat: fmt,
  };
}

function checkAlgorithm(credentialPublicKey: Bytes): void {
  let alg: unknown;
  try {
    alg = decodeCredentialPublicKey(credentialPublicKey).get(cose.COSEKEYS.alg);
  } catch (error) {
    throw webauthnError('registration', WebauthnErrorCode.malformed, 'credential public key is not a COSE key', error);
  }
  if (typeof alg !== 'number' || !SUPPORTED_ALGORITHM_IDS.includes(alg)) {
    throw webauthnError('registration', WebauthnErrorCode.unsupportedAlgorithm, `credential key algorithm ${String(alg)} is not supported`);
  }
}
