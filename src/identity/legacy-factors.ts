import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import type { Kysely } from 'kysely';
import { generate as generateTotp, generateSecret, verify as verifyTotp } from 'otplib';
import type { Clock } from '../lib/clock.js';
import { InputError } from '../lib/errors.js';
import { totpSecretContext, type SecretSealer } from '../secrets/index.js';
import type { Database } from '../store/index.js';

/** argon2id cost. Verification reads the cost from the stored hash, so a change applies to new hashes. */
export interface PasswordHashing {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's argon2id parameters (m=19 MiB, t=2, p=1): what every deployment uses. */
export const OWASP_ARGON2ID: PasswordHashing = Object.freeze({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });

// A valid argon2id hash of a random string, per cost: verified against when the user has no password (or
// is refused before the password is checked), so every answer costs the time of a real verification.
const decoyHashes = new Map<string, Promise<string>>();

/**
 * Password (argon2id, OWASP parameters: m=19 MiB, t=2, p=1) and TOTP (RFC 6238, 30 s steps). Legacy
 * factors for migration only: a real-time relay replays both (2022 campaign), which is why the sign-in
 * flow refuses them for anyone who has a security key.
 */
export class LegacyFactors {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    /**
     * Seals TOTP secrets at rest (`totp:<userId>`): unlike a password hash, a TOTP secret must be
     * readable to verify a code, and whoever reads it generates valid codes. Sealed, a copy of the
     * database does not yield them, and a secret copied into another user's row does not open there.
     */
    private readonly sealer: SecretSealer,
    /** Tests pass a cheaper cost (the flows, not the hash, are under test); production never does. */
    private readonly hashing: PasswordHashing = OWASP_ARGON2ID,
  ) {}

  async setPassword(userId: string, password: string): Promise<void> {
    if (password.length < 12 || password.length > 256) throw new InputError('a password must be 12 to 256 characters long', 'weak_password');
    const passwordHash = await argon2Hash(password, this.hashing);
    await this.upsert(userId, { password_hash: passwordHash });
  }

  /** Enrols TOTP and returns the shared secret (shown once to the user as an otpauth URI). */
  async enrollTotp(userId: string): Promise<string> {
    const secret = generateSecret();
    await this.upsert(userId, { totp_secret: this.sealer.seal(secret, totpSecretContext(userId)), totp_last_step: null });
    return secret;
  }

  async has(userId: string): Promise<{ password: boolean; totp: boolean }> {
    const row = await this.db.selectFrom('legacy_factors').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return { password: Boolean(row?.password_hash), totp: Boolean(row?.totp_secret) };
  }

  /**
   * Verifies the password in constant work whether or not the user has one: without a user (unknown
   * email, or an attempt refused before its password is checked) the same lookup runs, finds nothing,
   * and the decoy hash is verified instead, so the answer's timing says nothing about the account.
   */
  private decoyHash(): Promise<string> {
    const key = `${this.hashing.memoryCost}:${this.hashing.timeCost}:${this.hashing.parallelism}`;
    let decoy = decoyHashes.get(key);
    if (!decoy) decoyHashes.set(key, (decoy = argon2Hash(`decoy-${Math.random().toString(36)}`, this.hashing)));
    return decoy;
  }

  async verifyPassword(userId: string | undefined, password: string): Promise<boolean> {
    const row = await this.db.selectFrom('legacy_factors').select('password_hash').where('user_id', '=', userId ?? '').executeTakeFirst();
    const stored = row?.password_hash ?? (await this.decoyHash());
    const ok = await argon2Verify(stored, password.slice(0, 256)).catch(() => false);
    return ok && Boolean(row?.password_hash);
  }

  /**
   * Verifies a TOTP code: one step of clock skew back, none forward, and never the same or an earlier
   * step twice (RFC 6238 §5.2: a verifier must not accept the second attempt of the same OTP).
   */
  async verifyTotp(userId: string, code: string): Promise<boolean> {
    if (!/^\d{6}$/.test(code)) return false;
    const row = await this.db.selectFrom('legacy_factors').selectAll().where('user_id', '=', userId).executeTakeFirst();
    if (!row?.totp_secret) return false;
    // An unopenable secret (no KEK, wrong KEK, moved from another row) throws its code: a failure of
    // the deployment, not a wrong code, so it is not counted against the user as one.
    const secret = this.sealer.unseal(row.totp_secret, totpSecretContext(userId)).toString('utf8');
    const result = await verifyTotp({
      secret,
      token: code,
      epoch: Math.floor(this.clock.now() / 1000),
      epochTolerance: [30, 0],
      ...(row.totp_last_step === null ? {} : { afterTimeStep: Number(row.totp_last_step) }),
    }).catch(() => ({ valid: false as const }));
    if (!result.valid || !('timeStep' in result)) return false;
    const updated = await this.db
      .updateTable('legacy_factors')
      .set({ totp_last_step: result.timeStep })
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', result.timeStep)]))
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1;
  }

  /** Current code for a secret (tests and the relay drill play the victim's authenticator app). */
  static async codeFor(secret: string, epochMs: number): Promise<string> {
    return generateTotp({ secret, epoch: Math.floor(epochMs / 1000) });
  }

  /** Removes both legacy factors (forced re-enrollment after an incident). */
  async disable(userId: string, db: Kysely<Database> = this.db): Promise<void> {
    await db.deleteFrom('legacy_factors').where('user_id', '=', userId).execute();
  }

  private async upsert(userId: string, values: Partial<Database['legacy_factors']>): Promise<void> {
    const now = this.clock.now();
    await this.db
      .insertInto('legacy_factors')
      .values({ user_id: userId, password_hash: null, totp_secret: null, totp_last_step: null, ...values, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...values, updated_at: now }))
      .execute();
  }
}
