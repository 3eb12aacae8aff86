import { createHash, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { cose, decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import { webauthnError, WebauthnErrorCode } from './webauthn-errors.js';

/**
 * The assertion signature (WebAuthn L3 §7.2 steps 19-20): over authenticatorData || SHA-256(clientDataJSON),
 * with the credential's stored COSE key (RFC 9053), verified by node:crypto (OpenSSL).
 *
 * Why not the library here: every other step of §7.2 is checked by our own code before this one
 * (clientData, rpIdHash, flags, canonical DER), and the library re-parsed everything and imported the
 * key through WebCrypto on each sign-in — about 1 ms, three quarters of a sign-in's CPU. Keys are
 * converted once per credential and kept (bounded), so a sign-in costs one OpenSSL verify.
 */
interface VerifyingKey {
  alg: number;
  key: KeyObject;
}

const MAX_KEYS = 10_000;
const keys = new Map<string, VerifyingKey>();

function b64url(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new TypeError('COSE key member is not a byte string');
  return Buffer.from(value).toString('base64url');
}

function toVerifyingKey(coseKey: Uint8Array): VerifyingKey {
  const map = decodeCredentialPublicKey(new Uint8Array(coseKey)) as unknown as Map<number, unknown>;
  const kty = map.get(cose.COSEKEYS.kty);
  const alg = Number(map.get(cose.COSEKEYS.alg));
  let jwk: JsonWebKey;
  if (kty === cose.COSEKTY.EC2 && alg === cose.COSEALG.ES256 && map.get(cose.COSEKEYS.crv) === cose.COSECRV.P256) {
    jwk = { kty: 'EC', crv: 'P-256', x: b64url(map.get(cose.COSEKEYS.x)), y: b64url(map.get(cose.COSEKEYS.y)) };
  } else if (kty === cose.COSEKTY.OKP && alg === cose.COSEALG.EdDSA && map.get(cose.COSEKEYS.crv) === cose.COSECRV.ED25519) {
    jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(map.get(cose.COSEKEYS.x)) };
  } else if (kty === cose.COSEKTY.RSA && alg === cose.COSEALG.RS256) {
    jwk = { kty: 'RSA', n: b64url(map.get(cose.COSEKEYS.n)), e: b64url(map.get(cose.COSEKEYS.e)) };
  } else {
    throw new TypeError(`unsupported COSE key (kty ${String(kty)}, alg ${alg})`);
  }
  return { alg, key: createPublicKey({ key: jwk, format: 'jwk' }) };
}

export function verifyAssertionSignature(
  credentialId: string,
  coseKey: Uint8Array,
  authenticatorData: Uint8Array,
  clientDataJSON: Uint8Array,
  signature: Uint8Array,
): void {
  const cacheKey = `${credentialId}:${createHash('sha256').update(coseKey).digest('base64url')}`;
  let verifying = keys.get(cacheKey);
  if (!verifying) {
    try {
      verifying = toVerifyingKey(coseKey);
    } catch (error) {
      throw webauthnError('authentication', WebauthnErrorCode.badSignature, `stored public key unusable: ${(error as Error).message}`, error);
    }
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string);
    keys.set(cacheKey, verifying);
  }
  const signed = Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]);
  let ok: boolean;
  try {
    if (verifying.alg === cose.COSEALG.ES256) ok = verify('sha256', signed, { key: verifying.key, dsaEncoding: 'der' }, signature);
    else if (verifying.alg === cose.COSEALG.EdDSA) ok = verify(null, signed, verifying.key, signature);
    else ok = verify('sha256', signed, verifying.key, signature);
  } catch (error) {
    throw webauthnError('authentication', WebauthnErrorCode.badSignature, `signature could not be checked: ${(error as Error).message}`, error);
  }
  if (!ok) throw webauthnError('authentication', WebauthnErrorCode.badSignature, 'signature does not verify with the stored public key');
}
