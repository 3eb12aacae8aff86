import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import type { Database } from '../store/index.js';

/** What the throttle needs: the shared database, the clock and the key for the account HMAC. */
export interface SignInThrottleContext {
  db: Kysely<Database>;
  clock: Clock;
  serverSecret: Buffer;
}

export interface SignInThrottleLimits {
  maxFailures: number;
  /** Length of the counting window; the lockout lasts until it ends. */
  lockoutMs: number;
}

/**
 * The row key for an account: an HMAC under the server secret, not a plain hash, because a plain
 * SHA-256 of an email is reversed by hashing a list of addresses and a database dump would then name
 * every account someone tried to spray.
 */
function accountKeyOf(ctx: SignInThrottleContext, normalisedEmail: string): string {
  return createHmac('sha256', ctx.serverSecret).update(`sign-in-throttle:${normalisedEmail}`).digest('base64url');
}

/**
 * Counts one password attempt against the account before its password is checked, and says whether
 * it may be checked at all (OWASP Authentication Cheat Sheet, "Account lockout": per account, not per
 * address, or a spray from many addresses goes unthrottled). Counting first is what makes the check
 * and the count one atomic statement: two instances racing on the same account each get their own
 * count back, so at most `maxFailures` guesses are ever verified per window, however the attempts are
 * spread. A success calls `clearSignInFailures`, so an attempt counts as a failure until it succeeds.
 * The window is fixed from its first failure; an attempt after it ends starts a new one.
 */
export async function countSignInAttempt(ctx: SignInThrottleContext, normalisedEmail: string, limits: SignInThrottleLimits): Promise<boolean> {
  const now = ctx.clock.now();
  const row = await ctx.db
    .insertInto('sign_in_throttle')
    .values({ account_key: accountKeyOf(ctx, normalisedEmail), failures: 1, window_started_at: now })
    .onConflict((oc) =>
      oc.column('account_key').doUpdateSet((eb) => {
        // Both SET expressions read the row as it was before this update (SQLite and PostgreSQL alike).
        const ended = eb('sign_in_throttle.window_started_at', '<=', now - limits.lockoutMs);
        return {
          failures: eb.case().when(ended).then(1).else(eb('sign_in_throttle.failures', '+', 1)).end(),
          window_started_at: eb.case().when(ended).then(now).else(eb.ref('sign_in_throttle.window_started_at')).end(),
        };
      }),
    )
    .returning('failures')
    .executeTakeFirstOrThrow();
  return Number(row.failures) <= limits.maxFailures;
}

/** A successful sign-in resets the account's count. */
export async function clearSignInFailures(ctx: SignInThrottleContext, normalisedEmail: string): Promise<void> {
  await ctx.db.deleteFrom('sign_in_throttle').where('account_key', '=', accountKeyOf(ctx, normalisedEmail)).execute();
}

/** Drops the rows whose window has ended: a spray of made-up emails leaves one row per email behind. */
export async function pruneSignInThrottle(ctx: Omit<SignInThrottleContext, 'serverSecret'>, lockoutMs: number): Promise<number> {
  const result = await ctx.db.deleteFrom('sign_in_throttle').where('window_started_at', '<=', ctx.clock.now() - lockoutMs).executeTakeFirst();
  return Number(result.numDeletedRows);
}
