import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';

/** PostgreSQL's default, and RFC 7677 §4's minimum iteration count for SCRAM-SHA-256. */
export const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password, computed here so that
 * `ALTER ROLE … PASSWORD '<verifier>'` never carries the plaintext: the server (and its statement
 * log, `pg_stat_statements`, a replica's WAL) sees only what it would have stored anyway.
 *
 * RFC 5802 §3: SaltedPassword = Hi(password, salt, i) (PBKDF2 with HMAC), ClientKey =
 * HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword,
 * "Server Key"); RFC 7677 fixes H to SHA-256. PostgreSQL's text form is
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, each part in standard base64.
 *
 * The password must already be in SASLprep normal form (RFC 4013); Gatehouse only feeds it ASCII
 * base64url, for which SASLprep is the identity.
 */
export function scramSha256Verifier(password: Buffer, salt: Buffer, iterations = SCRAM_ITERATIONS): string {
  if (salt.length < 16) throw new RangeError('SCRAM salt must be at least 16 bytes');
  if (!Number.isInteger(iterations) || iterations < SCRAM_ITERATIONS) {
    throw new RangeError(`SCRAM iterations must be an integer >= ${SCRAM_ITERATIONS}`);
  }
  const saltedPassword = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
