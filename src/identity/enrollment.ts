import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import {
  buildAuthenticationOptions,
  buildRegistrationOptions,
  verifyAuthentication,
  verifyRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from './webauthn/index.js';
import { checkKeyName, type StoredCredential } from './credential-registry.js';
import { userHandleOf, type IdentityContext, type RequestContext } from './identity-context.js';
import { requireRecentKeyProof } from './recent-key-proof.js';
import type { Amr, SessionView } from './sessions.js';
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

/** Step 1 of adding a key from the account page: only with a security-key proof made moments ago. */
export async function startAddKey(ctx: IdentityContext, session: SessionView, request: RequestContext): Promise<RegistrationStart> {
  try {
    requireRecentKeyProof(session, ctx.clock.now(), ctx.settings().keyChangeWindowMs, 'adding a key');
  } catch (error) {
    await auditFailure(ctx, 'key.added', error, request, session.userId, { stage: 'options' });
    throw error;
  }
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

/** What the page does next: get an assertion from the new key for these options, then activate it. */
export interface KeyActivation {
  activationId: string;
  options: PublicKeyCredentialRequestOptionsJSON;
}

/** A relay or a script that keeps registering keys it cannot activate fills nothing but this many rows. */
const MAX_PENDING_PER_USER = 5;

/**
 * Step 2: verify the registration and keep the credential as pending. Nothing is granted here: no
 * session, no key proof, the invite stays unused. The answer asks the page for an assertion with the
 * new credential against a fresh challenge (step 3), because only an assertion binds the ceremony to
 * our origin and RP ID whatever attestation the authenticator gave.
 */
export async function finishRegistration(ctx: IdentityContext, input: RegistrationFinish, request: RequestContext): Promise<KeyActivation> {
  const type = input.session ? 'key.added' : 'enrollment';
  let userId: string | undefined = input.session?.userId;
  try {
    const keyName = checkKeyName(input.keyName ?? 'Security key');
    const challenge = await ctx.challenges.consume(input.challengeId, 'register');
    userId = challenge.userId ?? undefined;
    if (!challenge.userId) throw new GatehouseError('webauthn_challenge_unknown', { status: 400, detail: 'registration challenge without user' });
    let inviteHash: string | null = null;
    if (input.session) {
      if (input.session.userId !== challenge.userId) throw new GatehouseError('webauthn_challenge_unknown', { status: 400, detail: 'challenge belongs to another user' });
      requireRecentKeyProof(input.session, ctx.clock.now(), ctx.settings().keyChangeWindowMs, 'adding a key');
    } else {
      if (!challenge.inviteHash || !input.inviteToken) throw new GatehouseError('invite_unknown', { status: 400, detail: 'enrollment without invite' });
      const invite = await ctx.invites.findUsable(input.inviteToken);
      if (invite.tokenHash !== challenge.inviteHash) throw new GatehouseError('invite_unknown', { status: 400, detail: 'invite does not match challenge' });
      inviteHash = invite.tokenHash;
    }
    const { webauthn, pendingKeyTtlMs } = ctx.settings();
    const verified = await verifyRegistration({
      response: input.response,
      expectedChallenge: new Uint8Array(Buffer.from(challenge.challenge, 'base64url')),
      rp: webauthn.rp,
      policy: { userVerification: webauthn.userVerification, trustedModels: webauthn.trustedModels },
      clock: ctx.clock,
    });
    const user = await ctx.users.require(challenge.userId);
    if (user.status !== 'active') throw new GatehouseError('user_disabled', { status: 403, publicMessage: 'This account is disabled.', detail: user.email });
    if ((await ctx.pending.countForUser(user.id)) >= MAX_PENDING_PER_USER) {
      throw new GatehouseError('key_pending_limit', { status: 429, publicMessage: 'Too many unconfirmed keys. Wait a few minutes and start again.', detail: `${MAX_PENDING_PER_USER} keys already wait for their first sign-in` });
    }
    const pending = await ctx.pending.create(
      {
        credential: {
          id: verified.credentialId,
          userId: user.id,
          name: keyName,
          publicKey: verified.publicKey,
          counter: verified.counter,
          aaguid: verified.aaguid,
          transports: [...verified.transports],
          authenticatorClass: verified.authenticatorClass,
          backedUp: verified.backedUp,
          model: verified.model,
          attestation: verified.attestationFormat,
        },
        classification: verified.classificationReason,
        inviteHash,
        sessionHash: input.session?.idHash ?? null,
        ip: request.ip,
        userAgent: request.userAgent,
      },
      pendingKeyTtlMs,
    );
    await ctx.audit.record({
      type: `${type}.pending`,
      outcome: 'info',
      userId: user.id,
      ip: request.ip,
      detail: { credential: pending.credential.id, class: verified.authenticatorClass, attestation: verified.attestationFormat, userAgent: request.userAgent },
    });
    const options = await buildAuthenticationOptions({
      rp: webauthn.rp,
      challenge: new Uint8Array(Buffer.from(pending.activationChallenge, 'base64url')),
      allowCredentials: [{ id: pending.credential.id, transports: pending.credential.transports }],
      userVerification: webauthn.userVerification,
      timeoutMs: webauthn.timeoutMs,
    });
    return { activationId: pending.activationId, options };
  } catch (error) {
    await auditFailure(ctx, type, error, request, userId, { stage: 'registration' });
    throw error;
  }
}

export interface KeyActivationFinish {
  activationId: unknown;
  response: unknown;
  /** Enrollment: the same invite that started it. */
  inviteToken?: string;
  /** Adding a key: the same session that registered it. */
  session?: SessionView;
}

/**
 * Step 3: the new credential's assertion, checked exactly as at sign-in (origin against the exact list,
 * rpIdHash, UP/UV, signature). A credential a relay created for its lookalike RP ID cannot produce one
 * for ours, so a relayed enrollment ends here with no key and no session. On success, in one
 * transaction: the key becomes usable, the invite is consumed, and enrollment signs the user in.
 */
export async function activateKey(
  ctx: IdentityContext,
  input: KeyActivationFinish,
  request: RequestContext,
): Promise<{ credential: StoredCredential; token?: string; session?: SessionView }> {
  let type = input.session ? 'key.added' : 'enrollment';
  let userId: string | undefined = input.session?.userId;
  try {
    const pending = await ctx.pending.consume(input.activationId);
    const key = pending.credential;
    userId = key.userId;
    type = pending.sessionHash ? 'key.added' : 'enrollment';
    if (pending.sessionHash) {
      if (!input.session || input.session.idHash !== pending.sessionHash) {
        throw new GatehouseError('key_activation_unknown', { status: 400, detail: 'the key was registered by another session' });
      }
    } else {
      if (!pending.inviteHash || !input.inviteToken) throw new GatehouseError('invite_unknown', { status: 400, detail: 'activation without invite' });
      const invite = await ctx.invites.findUsable(input.inviteToken);
      if (invite.tokenHash !== pending.inviteHash) throw new GatehouseError('invite_unknown', { status: 400, detail: 'invite does not match the pending key' });
    }
    const { webauthn } = ctx.settings();
    const verified = await verifyAuthentication({
      response: input.response,
      expectedChallenge: new Uint8Array(Buffer.from(pending.activationChallenge, 'base64url')),
      rp: webauthn.rp,
      credential: { id: key.id, publicKey: key.publicKey, counter: key.counter, userId: userHandleOf(key.userId) },
      requireUserVerification: webauthn.userVerification === 'required',
    });
    const user = await ctx.users.require(key.userId);
    if (user.status !== 'active') throw new GatehouseError('user_disabled', { status: 403, publicMessage: 'This account is disabled.', detail: user.email });
    const amr: Amr[] = verified.userVerified ? [key.authenticatorClass, 'mfa'] : [key.authenticatorClass];

    return await ctx.store.db.transaction().execute(async (trx) => {
      if (pending.inviteHash) await ctx.invites.consume(pending.inviteHash, trx);
      const credential = await ctx.credentials.add({ ...key, counter: verified.newCounter }, trx);
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
            name: credential.name,
            aaguid: credential.aaguid,
            class: credential.authenticatorClass,
            model: credential.model ?? null,
            classification: pending.classification,
            attestation: credential.attestation ?? null,
            userAgent: request.userAgent,
            registeredFrom: pending.ip,
          },
        },
        trx,
      );
      if (input.session) {
        // The new key's assertion is itself a fresh key proof for the session that added it.
        await ctx.sessions.recordStepUp(input.session.idHash, amr, trx);
        return { credential };
      }
      const issued = await ctx.sessions.issue({ userId: user.id, amr, phishingResistant: true, ip: request.ip, userAgent: request.userAgent, credentialId: credential.id }, trx);
      return { credential, token: issued.token, session: issued.session };
    });
  } catch (error) {
    await auditFailure(ctx, type, error, request, userId, { stage: 'activation' });
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
