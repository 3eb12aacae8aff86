import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import {
  buildRegistrationOptions,
  verifyRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
} from './webauthn/index.js';
import { checkKeyName, type StoredCredential } from './credential-registry.js';
import { userHandleOf, type IdentityContext, type RequestContext } from './identity-context.js';
import type { SessionView } from './sessions.js';
import type { User } from './user-directory.js';

export interface RegistrationStart {
  challengeId: string;
  options: PublicKeyCredentialCreationOptionsJSON;
  user: { email: string; name: string };
}

async function registrationOptions(ctx: IdentityContext, user: User, challengeId: string, challenge: string): Promise<RegistrationStart> {
  const { webauthn } = ctx.settings();
  const existing = await ctx.credentials.listForUser(user.id);
  const options = await buildRegistrationOptions({
    rp: webauthn.rp,
    user: { id: userHandleOf(user.id), name: user.email, displayName: user.name },
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
    challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
    userVerification: webauthn.userVerification,
    residentKey: webauthn.residentKey,
    attestation: webauthn.attestation,
    timeoutMs: webauthn.timeoutMs,
  });
  return { challengeId, options, user: { email: user.email, name: user.name } };
}

/** Step 1 of enrollment from an invite link: check the invite, issue a registration challenge. */
export async function startEnrollment(ctx: IdentityContext, inviteToken: string, request: RequestContext): Promise<RegistrationStart> {
  try {
    const invite = await ctx.invites.findUsable(inviteToken);
    const user = await ctx.users.require(invite.userId);
    if (user.status !== 'active') throw new GatehouseError('user_disabled', { status: 403, publicMessage: 'This account is disabled.', detail: user.email });
    const stored = await ctx.challenges.create({ purpose: 'register', userId: user.id, inviteHash: invite.tokenHash }, ctx.settings().webauthn.timeoutMs);
    return await registrationOptions(ctx, user, stored.id, stored.challenge);
  } catch (error) {
    await auditFailure(ctx, 'enrollment', error, request);
    throw error;
  }
}

/** Step 1 of adding a key from the account page (signed in). */
export async function startAddKey(ctx: IdentityContext, session: SessionView): Promise<RegistrationStart> {
  const user = await ctx.users.require(session.userId);
  const stored = await ctx.challenges.create({ purpose: 'register', userId: user.id }, ctx.settings().webauthn.timeoutMs);
  return registrationOptions(ctx, user, stored.id, stored.challenge);
}

export interface RegistrationFinish {
  challengeId: unknown;
  response: unknown;
  keyName: unknown;
  /** Required for invite enrollment (the challenge names the invite); absent when adding a key. */
  inviteToken?: string;
  /** The signed-in session adding a key. */
  session?: SessionView;
}

/**
 * Step 2: verify the attestation, store the credential, consume the invite and (for enrollment) sign
 * the user in, all in one transaction. Registration with our exact origin and RP ID is itself a
 * phishing-resistant proof of possession, so the new session carries hwk/swk.
 */
export async function finishRegistration(
  ctx: IdentityContext,
  input: RegistrationFinish,
  request: RequestContext,
): Promise<{ credential: StoredCredential; token?: string; session?: SessionView }> {
  const type = input.session ? 'key.added' : 'enrollment';
  let userId: string | undefined = input.session?.userId;
  try {
    const keyName = checkKeyName(input.keyName ?? 'Security key');
    const challenge = await ctx.challenges.consume(input.challengeId, 'register');
    userId = challenge.userId ?? undefined;
    if (!challenge.userId) throw new GatehouseError('webauthn_challenge_unknown', { status: 400, detail: 'registration challenge without user' });
    if (input.session && input.session.userId !== challenge.userId) {
      throw new GatehouseError('webauthn_challenge_unknown', { status: 400, detail: 'challenge belongs to another user' });
    }
    let inviteHash: string | undefined;
    if (!input.session) {
      if (!challenge.inviteHash || !input.inviteToken) throw new GatehouseError('invite_unknown', { status: 400, detail: 'enrollment without invite' });
      const invite = await ctx.invites.findUsable(input.inviteToken);
      if (invite.tokenHash !== challenge.inviteHash) throw new GatehouseError('invite_unknown', { status: 400, detail: 'invite does not match challenge' });
      inviteHash = invite.tokenHash;
    }
    const { webauthn } = ctx.settings();
    const verified = await verifyRegistration({
      response: input.response,
      expectedChallenge: new Uint8Array(Buffer.from(challenge.challenge, 'base64url')),
      rp: webauthn.rp,
      policy: { userVerification: webauthn.userVerification, trustedModels: webauthn.trustedModels },
      clock: ctx.clock,
    });
    const user = await ctx.users.require(challenge.userId);
    if (user.status !== 'active') throw new GatehouseError('user_disabled', { status: 403, publicMessage: 'This account is disabled.', detail: user.email });

    const result = await ctx.store.db.transaction().execute(async (trx) => {
      if (inviteHash) await ctx.invites.consume(inviteHash, trx);
      const credential = await ctx.credentials.add(
        {
          id: verified.credentialId,
          userId: user.id,
          name: keyName,
          publicKey: verified.publicKey,
          counter: verified.counter,
          aaguid: verified.aaguid,
          transports: [...verified.transports],
          authenticatorClass: verified.authenticatorClass,
          backedUp: verified.backedUp,
        },
        trx,
      );
      if (user.reenrollRequired) await ctx.users.setReenrollRequired(user.id, false, trx);
      await ctx.audit.record(
        {
          type,
          outcome: 'success',
          userId: user.id,
          actor: `user:${user.id}`,
          ip: request.ip,
          detail: {
            credential: credential.id,
            name: keyName,
            aaguid: verified.aaguid,
            class: verified.authenticatorClass,
            model: verified.model ?? null,
            classification: verified.classificationReason,
            attestation: verified.attestationFormat,
          },
        },
        trx,
      );
      if (input.session) return { credential };
      const amr = verified.userVerified ? [verified.authenticatorClass, 'mfa' as const] : [verified.authenticatorClass];
      const issued = await ctx.sessions.issue(
        { userId: user.id, amr, phishingResistant: true, ip: request.ip, userAgent: request.userAgent },
        trx,
      );
      return { credential, token: issued.token, session: issued.session };
    });
    return result;
  } catch (error) {
    await auditFailure(ctx, type, error, request, userId);
    throw error;
  }
}

export async function auditFailure(
  ctx: IdentityContext,
  type: string,
  error: unknown,
  request: RequestContext,
  userId?: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const code = isGatehouseError(error) ? error.code : 'internal_error';
  const detail = isGatehouseError(error) ? error.detail : String(error);
  await ctx.audit
    .record({ type, outcome: 'failure', code, userId, ip: request.ip, detail: { reason: detail ?? code, userAgent: request.userAgent, ...extra } })
    .catch(() => {});
}
