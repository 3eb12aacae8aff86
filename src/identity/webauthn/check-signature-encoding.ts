import { cose, decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import { webauthnError, WebauthnErrorCode } from './webauthn-errors.js';

/**
 * WebAuthn L3 §6.5.5: ECDSA signatures are ASN.1 DER (X.690 §10) Ecdsa-Sig-Value. The library's
 * BER-tolerant parser accepts other encodings of the same (r, s) (a found case: a wrong SEQUENCE
 * length); they are not forgeries, but one signature must have one encoding, so anything but
 * canonical DER is refused before verification.
 */
export function checkSignatureEncoding(storedPublicKey: Uint8Array, signature: Uint8Array): void {
  let kty: unknown;
  try {
    kty = decodeCredentialPublicKey(new Uint8Array(storedPublicKey)).get(cose.COSEKEYS.kty);
  } catch (error) {
    throw webauthnError('authentication', WebauthnErrorCode.badSignature, 'stored public key is not a COSE key', error);
  }
  if (kty === cose.COSEKTY.EC2 && !isCanonicalEcdsaDer(signature)) {
    throw webauthnError('authentication', WebauthnErrorCode.badSignature, 'ECDSA signature is not canonical DER');
  }
}

/** SEQUENCE { INTEGER r, INTEGER s } with minimal lengths and minimal, positive integers. */
export function isCanonicalEcdsaDer(der: Uint8Array): boolean {
  if (der.length < 8 || der[0] !== 0x30) return false;
  let offset = 2;
  let length = der[1]!;
  if (length === 0x81) {
    // Long form only when the short form cannot hold the length (X.690 §10.1).
    length = der[2] ?? 0;
    if (length < 0x80) return false;
    offset = 3;
  } else if (length > 0x7f) {
    return false;
  }
  if (offset + length !== der.length) return false;
  for (let i = 0; i < 2; i += 1) {
    if (der[offset] !== 0x02) return false;
    const size = der[offset + 1] ?? 0;
    const start = offset + 2;
    if (size === 0 || size > 0x7f || start + size > der.length) return false;
    const first = der[start]!;
    if (first & 0x80) return false; // negative
    if (first === 0 && (size === 1 || !((der[start + 1] ?? 0) & 0x80))) return false; // r or s = 0 (never valid), or a needless leading 0x00
    offset = start + size;
  }
  return offset === der.length;
}
