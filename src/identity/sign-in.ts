import { createHmac } from 'node:crypto';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import { auditFailure } from './enrollment.js';
import { userHandleOf, type IdentityContext, type RequestContext } from './identity-context.js';
import { clearSignInFailures, countSignInAttempt } from './sign-in-throttle.js';
import type { Amr, SessionView } from './sessions.js';
import {
  buildAuthenticationOptions,
  readAssertionCredentialId,
  verifyAuthentication,
  WebauthnErrorCode,
  type PublicKeyCredentialRequestOptionsJSON,
} from './webauthn/index.js';

const FAILED = 'Sign-in failed. Try again.';

export interface SignInStart {
  challengeId: string;
  options: PublicKeyCredentialRequestOptionsJSON;
}

// Transport lists as browsers report them at registration (WebAuthn L3 §5.2.1.1 getTransports():
// sorted, no duplicates): USB keys, NFC+USB keys, platform passkeys.
const DECOY_TRANSPORTS: readonly (readonly string[])[] = [['usb'], ['nfc', 'usb'], ['nfc', 'usb'], ['hybrid', 'internal']];

/**
 * Decoy credentials for an email with no key in username-first sign-in, so the options do not reveal
 * whether an account exists: the same shape as a real user's (an id, the transports the key reported),
 * one or two of them like a user with a spare key, all stable per email (HMACs of it) so asking twice
 * gives the same answer. The count and transports come from their own HMAC, never from the bytes of a
 * listed id: a visible relation between id and shape would mark the decoys.
 */
function decoyCredentials(ctx: IdentityContext, email: string): { id: string; transports: string[] }[] {
  const hmac = (label: string) => createHmac('sha256', ctx.serverSecret()).update(`${label}:${email}`).digest();
  const shape = hmac('decoy-shape');
  return Array.from({ length: 1 + (shape[0]! & 1) }, (_, index) => ({
    id: hmac(index === 0 ? 'decoy-credential' : `decoy-credential-${index}`).toString('base64url'),
    transports: [...DECOY_TRANSPORTS[shape[1 + index]! % DECOY_TRANSPORTS.length]!],
  }));
}

/**
 * Step 1: a challenge for a discoverable sign-in (no email: the authenticator offers its passkeys) or
 * username-first (email given: the user's credential ids are listed).
 */
export async function startSignIn(ctx: IdentityContext, input: { email?: string | undefined; stepUpFor?: SessionView }): Promise<SignInStart> {
  const { webauthn } = ctx.settings();
  let allowCredentials: { id: string; transports?: string[] }[] = [];
  let userId: string | null = null;
  if (input.stepUpFor) {
    userId = input.stepUpFor.userId;
    allowCredentials = (await ctx.credentials.listForUser(userId)).map((c) => ({ id: c.id, transports: c.transports }));
  } else if (input.email) {
    const email = input.email.trim().toLowerCase().slice(0, 254);
    const user = await ctx.users.findByEmail(email);
    const credentials = user ? await ctx.credentials.listForUser(user.id) : [];
    allowCredentials = credentials.length > 0 ? credentials.map((c) => ({ id: c.id, transports: c.transports })) : decoyCredentials(ctx, email);
    // A listed credential may be non-discoverable, and its authenticator then returns no userHandle
    // (WebAuthn L3 §7.2 step 6: the user was identified before the ceremony): binding the challenge to
    // the user is what ties the credential to them. Not on the decoy path, whose challenge stays unbound.
    if (user && credentials.length > 0) userId = user.id;
  }
  const stored = await ctx.challenges.create({ purpose: 'authenticate', userId }, webauthn.timeoutMs);
  const options = await buildAuthenticationOptions({
    rp: webauthn.rp,
    challenge: new Uint8Array(Buffer.from(stored.challenge, 'base64url')),
    allowCredentials,
    userVerification: webauthn.userVerification,
    timeoutMs: webauthn.timeoutMs,
  });
  return { challengeId: stored.id, options };
}

/**
 * Issues the session, then records the sign-in through the audit log's group commit and only then
 * returns the token. The audit append serialises on the hash chain's head: inside the session's
 * transaction it held that lock across every commit and capped sign-ins on PostgreSQL. If the process
 * dies between the two commits, the session exists without its event, but its token never reached
 * anyone (the reply is sent after the audit commit), so no usable session is unaudited.
 */
async function issueAudited(
  ctx: IdentityContext,
  input: Parameters<IdentityContext['sessions']['issue']>[0],
  detail: Record<string, unknown>,
  owner?: { email: string; name: string },
): Promise<SignInResult> {
  const issued = await ctx.sessions.issue(input, undefined, owner);
  await ctx.audit.record({ type: 'sign_in', outcome: 'success', userId: input.userId, ip: input.ip, detail });
  return issued;
}

export interface SignInResult {
  token: string;
  session: SessionView;
}

/**
 * Step 2: verify the assertion (origin against the exact list, RP ID hash, challenge, flags, signature,
 * counter) and issue a session with AMR hwk/swk. With `stepUpFor`, refresh that session's proof instead.
 * Every failure is audited with its code; the client sees one generic message.
 */
export async function finishSignIn(
  ctx: IdentityContext,
  input: { challengeId: unknown; response: unknown; stepUpFor?: SessionView },
  request: RequestContext,
): Promise<SignInResult | { session: SessionView }> {
  let userId: string | undefined;
  let credentialId: string | undefined;
  try {
    const challenge = await ctx.challenges.consume(input.challengeId, 'authenticate');
    const claimed = readAssertionCredentialId(input.response);
    credentialId = claimed.credentialId;
    const found = await ctx.credentials.findWithOwner(claimed.credentialId);
    if (!found) {
      throw new GatehouseError(WebauthnErrorCode.unknownCredential, { status: 401, publicMessage: FAILED, detail: `no credential ${claimed.credentialId}` });
    }
    const { credential, owner } = found;
    userId = credential.userId;
    if (challenge.userId && challenge.userId !== credential.userId) {
      throw new GatehouseError(WebauthnErrorCode.unknownCredential, { status: 401, publicMessage: FAILED, detail: 'credential belongs to another user than the challenge' });
    }
    const { webauthn } = ctx.settings();
    const verified = await verifyAuthentication({
      response: input.response,
      expectedChallenge: new Uint8Array(Buffer.from(challenge.challenge, 'base64url')),
      rp: webauthn.rp,
      credential: { id: credential.id, publicKey: credential.publicKey, counter: credential.counter, userId: userHandleOf(credential.userId) },
      requireUserVerification: webauthn.userVerification === 'required',
      // Only discoverable sign-in identifies the user by userHandle; username-first and step-up bound
      // the challenge to the user whose credentials they listed, checked against the credential above.
      requireUserHandle: challenge.userId === null,
    });
    if (!(await ctx.credentials.recordUse(credential.id, verified.newCounter, credential.counter))) {
      // Another sign-in with the same key raced this one and stored its counter first: an assertion
      // with a stale counter is what a cloned key produces.
      throw new GatehouseError(WebauthnErrorCode.counterRegression, { status: 401, publicMessage: FAILED, detail: 'counter changed concurrently' });
    }
    const user = { id: credential.userId, ...owner };
    if (user.status !== 'active') throw new GatehouseError('user_disabled', { status: 403, publicMessage: FAILED, detail: `${user.email} is disabled` });
    const amr: Amr[] = verified.userVerified ? [credential.authenticatorClass, 'mfa'] : [credential.authenticatorClass];
    const detail = { method: 'webauthn', credential: credential.id, class: credential.authenticatorClass, userVerified: verified.userVerified, userAgent: request.userAgent };
    if (input.stepUpFor) {
      if (input.stepUpFor.userId !== user.id) throw new GatehouseError(WebauthnErrorCode.unknownCredential, { status: 401, publicMessage: FAILED, detail: 'step-up with another user key' });
      await ctx.sessions.recordStepUp(input.stepUpFor.idHash, amr);
      await ctx.audit.record({ type: 'step_up', outcome: 'success', userId: user.id, ip: request.ip, detail });
      const session = await ctx.sessions.validateHash(input.stepUpFor.idHash);
      if (!session) throw new GatehouseError('session_ended', { status: 401, publicMessage: FAILED, detail: 'session ended during step-up' });
      return { session };
    }
    return await issueAudited(ctx, { userId: user.id, amr, phishingResistant: true, ip: request.ip, userAgent: request.userAgent, credentialId: credential.id }, detail, owner);
  } catch (error) {
    const extra: Record<string, unknown> = { method: 'webauthn' };
    if (credentialId) extra.credential = credentialId;
    if (isGatehouseError(error) && error.code === WebauthnErrorCode.counterRegression) extra.alert = 'possible cloned security key';
    await auditFailure(ctx, input.stepUpFor ? 'step_up' : 'sign_in', error, request, userId, extra);
    throw error;
  }
}

/**
 * Legacy password (+TOTP) sign-in, off by default. Refused for anyone who has a security key unless
 * config allows the downgrade: otherwise a relay that cannot use the key would simply ask for the
 * password and the code instead (the 2022 kit did exactly that).
 *
 * Every refusal is the same 401 with the same message, and costs the same work, one argon2id
 * verification: a different answer for a right password (key holder, disabled user, wrong TOTP) is an
 * oracle for a sprayer or a relay, which then knows which password to keep. The reason goes to the
 * audit log only. Attempts are counted per account across instances (sign-in-throttle.ts) before the
 * password is checked.
 */
export async function legacySignIn(
  ctx: IdentityContext,
  input: { email: unknown; password: unknown; code: unknown },
  request: RequestContext,
): Promise<SignInResult> {
  const { legacy } = ctx.settings();
  const refused = (code: string, detail: string) => new GatehouseError(code, { status: 401, publicMessage: FAILED, detail });
  let userId: string | undefined;
  try {
    if (!legacy.password) throw refused('legacy_disabled', 'password sign-in is disabled');
    if (typeof input.email !== 'string' || typeof input.password !== 'string' || input.email.length > 254 || input.password.length > 256) {
      throw new GatehouseError('invalid_input', { status: 400, publicMessage: FAILED, detail: 'email and password are required' });
    }
    const email = input.email.trim().toLowerCase();
    const throttle = { db: ctx.store.db, clock: ctx.clock, serverSecret: ctx.serverSecret() };
    const withinLimit = await countSignInAttempt(throttle, email, legacy);
    const user = await ctx.users.findByEmail(email);
    userId = user?.id;
    const keys = await ctx.credentials.countForUser(user?.id ?? '');
    // Decided before the password is checked, so neither the answer nor the audit log says whether
    // the password was right; the decoy verification below keeps the timing of a real check.
    const early = !withinLimit
      ? refused('sign_in_throttled', `more than ${legacy.maxFailures} failed attempts for this account in ${legacy.lockoutMs / 60_000} min`)
      : user && keys > 0 && !legacy.allowDowngrade
        ? refused('legacy_downgrade_refused', 'user has a security key; password+TOTP refused before the password was checked (possible phishing relay)')
        : undefined;
    const passwordOk = await ctx.legacy.verifyPassword(early ? undefined : user?.id, input.password);
    if (early) throw early;
    if (!user || !passwordOk) throw refused('bad_credentials', user ? 'wrong password' : 'unknown email');
    const factors = await ctx.legacy.has(user.id);
    const amr: Amr[] = ['pwd'];
    if (legacy.totp || factors.totp) {
      const code = typeof input.code === 'string' ? input.code.trim() : '';
      if (!factors.totp || !(await ctx.legacy.verifyTotp(user.id, code))) {
        // The audit row records that the password was right: the "password right, key never used"
        // hunt after an incident finds exactly these users.
        throw refused('bad_totp', 'password correct, TOTP code wrong or replayed');
      }
      amr.push('otp', 'mfa');
    }
    if (user.status !== 'active') throw refused('user_disabled', `${user.email} is disabled`);
    await clearSignInFailures(throttle, email);
    return await issueAudited(
      ctx,
      { userId: user.id, amr, phishingResistant: false, ip: request.ip, userAgent: request.userAgent },
      { method: amr.includes('otp') ? 'password+totp' : 'password', amr, userAgent: request.userAgent },
      user,
    );
  } catch (error) {
    await auditFailure(ctx, 'sign_in', error, request, userId, { method: 'password' });
    throw error;
  }
}
