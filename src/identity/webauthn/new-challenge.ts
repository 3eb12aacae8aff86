import type { Random } from '../../lib/random.js';

/** 32 bytes: WebAuthn L3 §13.4.3 asks for at least 16 unpredictable bytes per ceremony. */
export const CHALLENGE_BYTES = 32;

export function newChallenge(random: Random): Uint8Array {
  return new Uint8Array(random.bytes(CHALLENGE_BYTES));
}
