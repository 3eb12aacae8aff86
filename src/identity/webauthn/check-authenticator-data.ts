import { createHash, timingSafeEqual } from 'node:crypto';
import { parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { webauthnError, WebauthnErrorCode, type WebauthnCeremony } from './webauthn-errors.js';

export type ParsedAuthenticatorData = ReturnType<typeof parseAuthenticatorData>;

export interface AuthenticatorDataExpectation {
  readonly rpId: string;
  readonly requireUserVerification: boolean;
}

export function rpIdHash(rpId: string): Buffer {
  return createHash('sha256').update(rpId, 'utf8').digest();
}

/**
 * WebAuthn L3 §6.1 layout, then §7.1 steps 13-17 / §7.2 steps 15-18: rpIdHash, UP, UV and the
 * backup flags. The rpIdHash check is ours (not left to the library) so that a key which signed for
 * a relay's own RP ID fails with a precise code.
 */
export function checkAuthenticatorData(
  ceremony: WebauthnCeremony,
  authData: Uint8Array,
  expected: AuthenticatorDataExpectation,
): ParsedAuthenticatorData {
  let parsed: ParsedAuthenticatorData;
  try {
    // parseAuthenticatorData patches a byte in place for an old Firefox bug: give it a copy.
    parsed = parseAuthenticatorData(Uint8Array.from(authData));
  } catch (error) {
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, `authenticatorData: ${(error as Error).message}`, error);
  }
  const expectedHash = rpIdHash(expected.rpId);
  if (parsed.rpIdHash.length !== 32 || !timingSafeEqual(Buffer.from(parsed.rpIdHash), expectedHash)) {
    throw webauthnError(ceremony, WebauthnErrorCode.rpIdMismatch, `rpIdHash is not SHA-256("${expected.rpId}")`);
  }
  if (!parsed.flags.up) {
    throw webauthnError(ceremony, WebauthnErrorCode.userNotPresent, 'UP flag is not set');
  }
  if (expected.requireUserVerification && !parsed.flags.uv) {
    throw webauthnError(ceremony, WebauthnErrorCode.userNotVerified, 'UV flag is not set and user verification is required');
  }
  // §6.1.3: a credential that is not backup eligible cannot be backed up.
  if (parsed.flags.bs && !parsed.flags.be) {
    throw webauthnError(ceremony, WebauthnErrorCode.malformed, 'BS flag set without BE flag');
  }
  return parsed;
}
