import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Bearer secrets (session ids, invite tokens, service tokens, one-time codes) are stored only as
 * SHA-256 digests: a copy of the database does not let anyone act as a user. The secrets are 256-bit
 * random values, so a fast unsalted hash is sufficient (no dictionary to attack).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time equality of two strings (length leak only), for secrets and MACs. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Compare against itself so the time spent does not depend on where the inputs differ.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
