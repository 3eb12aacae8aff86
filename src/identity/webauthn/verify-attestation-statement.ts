import { X509Certificate } from 'node:crypto';
import { cose, decodeCredentialPublicKey, getCertificateInfo, verifySignature } from '@simplewebauthn/server/helpers';
import { webauthnError, WebauthnErrorCode } from './webauthn-errors.js';

/**
 * The attestation statement formats this verifier checks, offline (WebAuthn L3 §8.2 packed, §8.6
 * fido-u2f, §8.7 none). The signatures are over SHA-256 of clientDataJSON exactly as the browser sent
 * it, so nothing in clientDataJSON may be rewritten before this step. Whether a verified chain proves
 * a model is decided after, in classifyAuthenticator, against the per-model allowlist: no global
 * roots, no metadata service, no CRL download.
 */
export const VERIFIED_STATEMENT_FORMATS: ReadonlySet<string> = new Set(['none', 'packed', 'fido-u2f']);

export interface AttestationStatementInput {
  readonly fmt: string;
  readonly attStmt: ReadonlyMap<unknown, unknown>;
  /** authenticatorData exactly as received (packed signs it whole). */
  readonly authData: Uint8Array;
  /** SHA-256 of clientDataJSON exactly as received. */
  readonly clientDataHash: Uint8Array;
  readonly rpIdHash: Uint8Array;
  readonly credentialId: Uint8Array;
  /** COSE_Key from the attested credential data. */
  readonly credentialPublicKey: Uint8Array;
  readonly aaguid: Uint8Array;
}

/** OID id-fido-gen-ce-aaguid (§8.2.1): the model's AAGUID in a packed attestation certificate. */
const FIDO_GEN_CE_AAGUID = '1.3.6.1.4.1.45724.1.1.4';

const invalid = (detail: string, cause?: unknown) => webauthnError('registration', WebauthnErrorCode.attestationInvalid, detail, cause);
const bytes = (value: Uint8Array): Uint8Array<ArrayBuffer> => Uint8Array.from(value);

/**
 * Verifies the statement of a format in VERIFIED_STATEMENT_FORMATS and returns its certificate chain
 * (x5c, leaf first), or undefined when it has none ("none", packed self attestation).
 */
export async function verifyAttestationStatement(input: AttestationStatementInput): Promise<readonly Uint8Array[] | undefined> {
  switch (input.fmt) {
    case 'none':
      // §8.7: the statement is the empty map.
      if (input.attStmt.size > 0) throw invalid('none attestation with a non-empty statement');
      return undefined;
    case 'packed':
      return verifyPacked(input);
    case 'fido-u2f':
      return verifyFidoU2f(input);
    default:
      throw new Error(`verifyAttestationStatement: "${input.fmt}" is not a verified format`);
  }
}

/** §8.2 verification procedure. */
async function verifyPacked(input: AttestationStatementInput): Promise<readonly Uint8Array[] | undefined> {
  const alg = input.attStmt.get('alg');
  const sig = signatureOf(input.attStmt, 'packed');
  if (typeof alg !== 'number' || !cose.isCOSEAlg(alg)) throw invalid(`packed statement alg ${String(alg)} is not a COSE algorithm`);
  const signed = bytes(Buffer.concat([input.authData, input.clientDataHash]));
  const x5c = input.attStmt.get('x5c');
  if (x5c === undefined) {
    // Self attestation: the credential key signs, and alg must be that key's algorithm.
    if (decodeCredentialPublicKey(bytes(input.credentialPublicKey)).get(cose.COSEKEYS.alg) !== alg) {
      throw invalid(`packed self attestation alg ${alg} is not the credential key's algorithm`);
    }
    await requireSignature('packed self attestation', { signature: sig, data: signed, credentialPublicKey: bytes(input.credentialPublicKey), hashAlgorithm: alg });
    return undefined;
  }
  if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((cert) => cert instanceof Uint8Array)) {
    throw invalid('packed statement x5c is not a non-empty list of certificates');
  }
  const chain = x5c as Uint8Array[];
  checkPackedLeaf(chain[0]!, input.aaguid);
  await requireSignature('packed attestation', { signature: sig, data: signed, x509Certificate: bytes(chain[0]!), hashAlgorithm: alg });
  return chain;
}

/**
 * §8.2.1 requirements on the attestation certificate. Its validity period is not judged here: an
 * expired certificate proves no model, which classifyAuthenticator decides at the injected clock time.
 */
function checkPackedLeaf(leaf: Uint8Array, aaguid: Uint8Array): void {
  let info: ReturnType<typeof getCertificateInfo>;
  try {
    info = getCertificateInfo(bytes(leaf));
  } catch (error) {
    throw invalid('packed attestation certificate does not parse', error);
  }
  const { C, O, OU, CN } = info.subject;
  if (info.version !== 2) throw invalid('packed attestation certificate is not X.509 v3');
  if (OU !== 'Authenticator Attestation' || !CN || !O || !C || C.length !== 2) {
    throw invalid('packed attestation certificate subject lacks C, O, CN or OU "Authenticator Attestation"');
  }
  if (info.basicConstraintsCA) throw invalid('packed attestation certificate is a CA certificate');
  // When present, the extension must name the AAGUID the authenticator claims: OCTET STRING (16 bytes).
  const extension = info.parsedCertificate.tbsCertificate.extensions?.find((candidate) => candidate.extnID === FIDO_GEN_CE_AAGUID);
  if (extension && !Buffer.from(extension.extnValue.buffer).equals(Buffer.concat([Buffer.from([0x04, 0x10]), aaguid]))) {
    throw invalid('packed attestation certificate names another AAGUID than authenticatorData');
  }
}

/** §8.6 verification procedure. */
async function verifyFidoU2f(input: AttestationStatementInput): Promise<readonly Uint8Array[]> {
  const sig = signatureOf(input.attStmt, 'fido-u2f');
  const x5c = input.attStmt.get('x5c');
  if (!Array.isArray(x5c) || x5c.length !== 1 || !(x5c[0] instanceof Uint8Array)) {
    throw invalid('fido-u2f statement x5c is not exactly one certificate');
  }
  const attestationCertificate = x5c[0];
  let certificateKey: X509Certificate['publicKey'];
  try {
    certificateKey = new X509Certificate(Buffer.from(attestationCertificate)).publicKey;
  } catch (error) {
    throw invalid('fido-u2f attestation certificate does not parse', error);
  }
  if (certificateKey.asymmetricKeyType !== 'ec' || certificateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw invalid('fido-u2f attestation certificate key is not P-256');
  }
  // U2F has no AAGUID: the client writes 16 zero bytes into the attested credential data.
  if (input.aaguid.some((byte) => byte !== 0)) throw invalid('fido-u2f attestation with a non-zero AAGUID');
  const coseKey = decodeCredentialPublicKey(bytes(input.credentialPublicKey)) as unknown as ReadonlyMap<number, unknown>;
  const x = coseKey.get(cose.COSEKEYS.x);
  const y = coseKey.get(cose.COSEKEYS.y);
  if (!(x instanceof Uint8Array) || x.length !== 32 || !(y instanceof Uint8Array) || y.length !== 32) {
    throw invalid('fido-u2f credential key is not a P-256 point');
  }
  // 0x00 || rpIdHash || clientDataHash || credentialId || publicKeyU2F (0x04 || x || y), FIDO U2F raw message formats §4.3.
  const verificationData = bytes(
    Buffer.concat([Buffer.from([0x00]), input.rpIdHash, input.clientDataHash, input.credentialId, Buffer.from([0x04]), x, y]),
  );
  await requireSignature('fido-u2f attestation', {
    signature: sig,
    data: verificationData,
    x509Certificate: bytes(attestationCertificate),
    hashAlgorithm: cose.COSEALG.ES256,
  });
  return [attestationCertificate];
}

function signatureOf(attStmt: ReadonlyMap<unknown, unknown>, fmt: string): Uint8Array<ArrayBuffer> {
  const sig = attStmt.get('sig');
  if (!(sig instanceof Uint8Array) || sig.length === 0) throw invalid(`${fmt} statement has no sig`);
  return bytes(sig);
}

async function requireSignature(what: string, options: Parameters<typeof verifySignature>[0]): Promise<void> {
  let verified: boolean;
  try {
    verified = await verifySignature(options);
  } catch (error) {
    throw invalid(`${what}: ${(error as Error).message}`, error);
  }
  if (!verified) throw invalid(`${what} signature does not verify`);
}
