/**
 * Keys come into existence only through a proof bound to our origin. The attacks, as a relay or a
 * thief would run them, and the refusal code each must meet:
 *  - a relayed enrollment (RP ID rewritten to the lookalike, attestation `none`, clientDataJSON's origin
 *    and the rpIdHash rewritten in the registration): the registration verifies — nothing signed those
 *    values — but the key stays pending, and its activation assertion cannot be made for our origin;
 *  - a phished password+TOTP session adding the attacker's key (key_proof_required);
 *  - a stolen key session adding a key long after the owner last touched theirs (step_up_required);
 *  - another session, or a replay, activating someone's pending key (key_activation_unknown);
 *  - a pending key left to wait (key_activation_expired), or used to sign in (webauthn_unknown_credential);
 *  - a leaked invite link for a user who already has keys (invite_user_has_keys).
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../../test/support/error-code.js';
import { openCoreFixture, PORTAL_ORIGIN, RP_ID, type CoreFixture } from '../../test/support/core-fixture.js';
import { LegacyFactors } from './legacy-factors.js';
import type { SessionView } from './sessions.js';
import { SoftwareAuthenticator } from './webauthn/test-support/software-authenticator.js';

const request = { ip: '192.0.2.10', userAgent: 'vitest' };
const relayRequest = { ip: '203.0.113.66', userAgent: 'relay' };
const LOOKALIKE_ORIGIN = 'https://acme-okta.localhost';
const LOOKALIKE_RP_ID = 'acme-okta.localhost';

const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;
const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** What a relay does to a response before forwarding it: our origin in clientDataJSON, our rpIdHash in authenticatorData. */
function rewriteAssertion(response: ReturnType<SoftwareAuthenticator['authenticate']>, parts: { origin?: boolean; rpIdHash?: boolean }) {
  const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (parts.origin) clientData.origin = PORTAL_ORIGIN;
  const authData = Buffer.from(response.response.authenticatorData, 'base64url');
  if (parts.rpIdHash) sha256(RP_ID).copy(authData, 0);
  return {
    ...response,
    response: { ...response.response, clientDataJSON: Buffer.from(JSON.stringify(clientData)).toString('base64url'), authenticatorData: authData.toString('base64url') },
  };
}

describe('keys come into existence only through an assertion against our origin', () => {
  let fx: CoreFixture;
  beforeEach(async () => {
    fx = await openCoreFixture({ extraYaml: 'identity:\n  legacy: { password: true, totp: true }\n' });
  });
  afterEach(() => fx.close());

  async function register(email: string, key = new SoftwareAuthenticator(), rpId = RP_ID, origin = PORTAL_ORIGIN) {
    const { identity } = fx.core;
    const invite = await identity.invite({ email, actor: 'test' });
    const token = tokenOf(invite.url);
    const start = await identity.startEnrollment(token, request);
    const response = key.register({ challenge: start.options.challenge, origin, rpId, userId: new Uint8Array(Buffer.from(start.options.user.id, 'base64url')) });
    const activation = await identity.finishRegistration({ challengeId: start.challengeId, inviteToken: token, response, keyName: 'Key' }, request);
    return { key, token, activation, user: invite.user };
  }

  async function enrol(email: string) {
    const registered = await register(email);
    const proof = registered.key.authenticate({ challenge: registered.activation.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
    const result = await fx.core.identity.activateKey({ activationId: registered.activation.activationId, inviteToken: registered.token, response: proof }, request);
    return { ...registered, session: result.session!, sessionToken: result.token! };
  }

  async function addKey(session: SessionView, key = new SoftwareAuthenticator()) {
    const { identity } = fx.core;
    const start = await identity.startAddKey(session, request);
    const response = key.register({ challenge: start.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID, userId: new Uint8Array(Buffer.from(start.options.user.id, 'base64url')) });
    const activation = await identity.finishRegistration({ challengeId: start.challengeId, response, keyName: 'Second key', session }, request);
    return { key, activation };
  }

  it('a registration alone grants nothing: no session, no key, the invite still unused', async () => {
    const { key, token, activation, user } = await register('pending@acme.test');
    expect(Object.keys(activation).sort()).toEqual(['activationId', 'options']);
    expect(activation.options.allowCredentials?.map((c) => c.id)).toEqual([key.id]);
    expect(activation.options.rpId).toBe(RP_ID);
    expect(await fx.core.identity.credentials.countForUser(user.id)).toBe(0);
    expect(await fx.core.store.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
    // The pending key cannot sign in: it is in no query of usable credentials.
    const start = await fx.core.identity.startSignIn({});
    const assertion = key.authenticate({ challenge: start.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
    expect(await codeOf(fx.core.identity.finishSignIn({ challengeId: start.challengeId, response: assertion }, request))).toBe('webauthn_unknown_credential');
    // The invite was not used up by the registration.
    await expect(fx.core.identity.startEnrollment(token, request)).resolves.toMatchObject({ user: { email: 'pending@acme.test' } });
    expect(await fx.core.audit.list({ type: 'enrollment.pending' })).toMatchObject([{ outcome: 'info', userId: user.id }]);
  });

  it('the activation assertion issues the session, activates the key and uses up the invite', async () => {
    const { session, token, user, key } = await enrol('alice@acme.test');
    expect(session.amr).toEqual(['swk', 'mfa']);
    const [stored] = await fx.core.identity.credentials.listForUser(user.id);
    expect(stored).toMatchObject({ id: key.id, addedIp: request.ip, addedUserAgent: request.userAgent, attestation: 'none' });
    const row = await fx.core.store.db.selectFrom('sessions').select('credential_id').executeTakeFirstOrThrow();
    expect(row.credential_id).toBe(key.id);
    expect(await codeOf(fx.core.identity.startEnrollment(token, request))).toBe('invite_used');
    const successes = (await fx.core.audit.list({ type: 'enrollment' })).filter((e) => e.outcome === 'success');
    expect(successes).toMatchObject([{ userId: user.id, detail: { credential: key.id, attestation: 'none' } }]);
  });

  describe('a relayed enrollment (RP ID rewritten, attestation none, origin and rpIdHash rewritten) ends with no key and no session', () => {
    for (const [variant, parts, code] of [
      ['forwarded as the browser made it', {}, 'webauthn_origin_mismatch'],
      ['origin rewritten', { origin: true }, 'webauthn_rp_id_mismatch'],
      ['origin and rpIdHash rewritten', { origin: true, rpIdHash: true }, 'webauthn_bad_signature'],
    ] as const) {
      it(`activation ${variant}: ${code}`, async () => {
        // The key made its credential for the lookalike's RP ID; the relay rewrote what it could of the
        // registration (nothing in a `none` attestation signs clientDataJSON or the rpIdHash).
        const victimKey = new SoftwareAuthenticator();
        const { token, activation, user } = await register('victim@acme.test', victimKey);
        expect(await fx.core.identity.credentials.countForUser(user.id)).toBe(0);
        // Activation: the browser on the lookalike origin asks the key for the lookalike RP ID.
        const made = victimKey.authenticate({ challenge: activation.options.challenge, origin: LOOKALIKE_ORIGIN, rpId: LOOKALIKE_RP_ID });
        const forwarded = rewriteAssertion(made, parts);
        expect(await codeOf(fx.core.identity.activateKey({ activationId: activation.activationId, inviteToken: token, response: forwarded }, relayRequest))).toBe(code);
        expect(await fx.core.identity.credentials.countForUser(user.id)).toBe(0);
        expect(await fx.core.store.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
        expect(await fx.core.store.db.selectFrom('pending_credentials').selectAll().execute()).toEqual([]);
        const failures = (await fx.core.audit.list({ type: 'enrollment' })).filter((e) => e.outcome === 'failure');
        expect(failures).toMatchObject([{ code, userId: user.id, ip: relayRequest.ip, detail: { stage: 'activation' } }]);
        // The invite is still good for the real person.
        await expect(fx.core.identity.startEnrollment(token, request)).resolves.toBeDefined();
      });
    }
  });

  it('an activation is single use, bound to its invite, and expires', async () => {
    const first = await register('bea@acme.test');
    const proof = first.key.authenticate({ challenge: first.activation.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
    const other = await fx.core.identity.invite({ email: 'other@acme.test', actor: 'test' });
    expect(await codeOf(fx.core.identity.activateKey({ activationId: first.activation.activationId, inviteToken: tokenOf(other.url), response: proof }, request))).toBe('invite_unknown');
    // That attempt consumed the pending key: the same activation cannot be tried again.
    expect(await codeOf(fx.core.identity.activateKey({ activationId: first.activation.activationId, inviteToken: first.token, response: proof }, request))).toBe('key_activation_unknown');
    expect(await codeOf(fx.core.identity.activateKey({ activationId: 'x'.repeat(65), inviteToken: first.token, response: proof }, request))).toBe('key_activation_unknown');

    const late = await register('cleo@acme.test');
    fx.clock.advance(10 * 60_000);
    const lateProof = late.key.authenticate({ challenge: late.activation.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
    expect(await codeOf(fx.core.identity.activateKey({ activationId: late.activation.activationId, inviteToken: late.token, response: lateProof }, request))).toBe('key_activation_expired');
    expect(await fx.core.identity.credentials.countForUser(late.user.id)).toBe(0);
  });

  it('a script that registers keys it never activates is capped (key_pending_limit)', async () => {
    const { identity } = fx.core;
    const invite = await identity.invite({ email: 'flood@acme.test', actor: 'test' });
    const token = tokenOf(invite.url);
    const attempt = async () => {
      const start = await identity.startEnrollment(token, request);
      const response = new SoftwareAuthenticator().register({ challenge: start.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID, userId: new Uint8Array(Buffer.from(start.options.user.id, 'base64url')) });
      return identity.finishRegistration({ challengeId: start.challengeId, inviteToken: token, response, keyName: 'k' }, request);
    };
    for (let i = 0; i < 5; i++) await attempt();
    expect(await codeOf(attempt())).toBe('key_pending_limit');
  });

  it('a password+TOTP session never adds a key (key_proof_required), at any step', async () => {
    const user = await fx.core.identity.users.add({ email: 'totp@acme.test' });
    await fx.core.identity.legacy.setPassword(user.id, 'correct horse battery');
    const secret = await fx.core.identity.legacy.enrollTotp(user.id);
    const signed = await fx.core.identity.legacySignIn({ email: 'totp@acme.test', password: 'correct horse battery', code: await LegacyFactors.codeFor(secret, fx.clock.now()) }, request);
    expect(await codeOf(fx.core.identity.startAddKey(signed.session, relayRequest))).toBe('key_proof_required');
    // Even with a registration challenge obtained elsewhere, the verify step checks the session itself.
    const { challengeId, options } = await fx.core.identity.ctx.challenges.create({ purpose: 'register', userId: user.id }, 60_000).then((c) => ({ challengeId: c.id, options: { challenge: c.challenge } }));
    const response = new SoftwareAuthenticator().register({ challenge: options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID, userId: new Uint8Array(Buffer.from(user.id)) });
    expect(await codeOf(fx.core.identity.finishRegistration({ challengeId, response, keyName: 'attacker', session: signed.session }, relayRequest))).toBe('key_proof_required');
    expect(await fx.core.identity.credentials.countForUser(user.id)).toBe(0);
    expect((await fx.core.audit.list({ type: 'key.added' })).map((e) => [e.outcome, e.code, (e.detail as { stage: string }).stage])).toEqual([
      ['failure', 'key_proof_required', 'registration'],
      ['failure', 'key_proof_required', 'options'],
    ]);
  });

  it('adding, renaming and removing a key need a key proof from the last 5 minutes (step_up_required), then work', async () => {
    const { session, user } = await enrol('dora@acme.test');
    fx.clock.advance(5 * 60_000 + 1);
    const stale = (await fx.core.identity.sessions.validateHash(session.idHash))!;
    expect(await codeOf(fx.core.identity.startAddKey(stale, request))).toBe('step_up_required');
    const [first] = await fx.core.identity.credentials.listForUser(user.id);
    expect(await codeOf(fx.core.identity.renameKey(user.id, first!.id, 'renamed', 'test', stale))).toBe('step_up_required');
    expect(await codeOf(fx.core.identity.removeKey(user.id, first!.id, { byAdmin: false, actor: 'test', session: stale }))).toBe('step_up_required');
    expect(await codeOf(fx.core.identity.removeKey(user.id, first!.id, { byAdmin: false, actor: 'test' }))).toBe('key_proof_required');
    // A fresh touch of the existing key (step-up) opens the window again.
    await fx.core.identity.sessions.recordStepUp(session.idHash, ['swk', 'mfa']);
    const fresh = (await fx.core.identity.sessions.validateHash(session.idHash))!;
    const { key, activation } = await addKey(fresh);
    const proof = key.authenticate({ challenge: activation.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
    await fx.core.identity.activateKey({ activationId: activation.activationId, response: proof, session: fresh }, request);
    expect(await fx.core.identity.credentials.countForUser(user.id)).toBe(2);
    const added = await fx.core.audit.list({ type: 'key.added' });
    expect(added.map((e) => [e.outcome, e.code])).toEqual([['success', ''], ['failure', 'step_up_required']]);
    expect(added[0]).toMatchObject({ detail: { credential: key.id } });
  });

  it('only the session that registered a key may activate it (key_activation_unknown)', async () => {
    const { session, user } = await enrol('eve@acme.test');
    const { key, activation } = await addKey(session);
    const thief = await fx.core.identity.sessions.issue({ userId: user.id, amr: ['swk'], phishingResistant: true, ip: relayRequest.ip, userAgent: 'thief' });
    const proof = key.authenticate({ challenge: activation.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
    expect(await codeOf(fx.core.identity.activateKey({ activationId: activation.activationId, response: proof, session: thief.session }, relayRequest))).toBe('key_activation_unknown');
    expect(await codeOf(fx.core.identity.activateKey({ activationId: activation.activationId, response: proof, inviteToken: 'A'.repeat(43) }, relayRequest))).toBe('key_activation_unknown');
    expect(await fx.core.identity.credentials.countForUser(user.id)).toBe(1);
  });

  it('removing a key revokes the sessions it opened, and only those', async () => {
    const { session, user, key } = await enrol('finn@acme.test');
    const added = await addKey(session);
    await fx.core.identity.activateKey({ activationId: added.activation.activationId, response: added.key.authenticate({ challenge: added.activation.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID }), session }, request);
    const start = await fx.core.identity.startSignIn({});
    const viaSecond = await fx.core.identity.finishSignIn({ challengeId: start.challengeId, response: added.key.authenticate({ challenge: start.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID }) }, request);
    const secondSession = (viaSecond as { session: SessionView }).session;
    const result = await fx.core.identity.removeKey(user.id, key.id, { byAdmin: false, actor: `user:${user.id}`, session: secondSession });
    expect(result.sessionsRevoked).toBe(1);
    expect(await fx.core.identity.sessions.validateHash(session.idHash)).toBeUndefined();
    expect(await fx.core.identity.sessions.validateHash(secondSession.idHash)).toBeDefined();
    expect(await fx.core.audit.list({ type: 'key.removed' })).toMatchObject([{ outcome: 'success', detail: { credential: key.id, sessionsRevoked: 1 } }]);
  });

  it('an invite for a user who has keys needs the explicit flag (invite_user_has_keys) and says so', async () => {
    await enrol('gil@acme.test');
    expect(await codeOf(fx.core.identity.invite({ email: 'gil@acme.test', actor: 'cli' }))).toBe('invite_user_has_keys');
    const again = await fx.core.identity.invite({ email: 'gil@acme.test', actor: 'cli', allowExistingKeys: true });
    expect(again.existingKeys).toBe(1);
    const [event] = (await fx.core.audit.list({ type: 'invite.created' })).filter((e) => (e.detail as { existingKeys?: number }).existingKeys === 1);
    expect(event).toBeDefined();
  });

  it('invites expire after 8 hours by default', async () => {
    const invite = await fx.core.identity.invite({ email: 'hana@acme.test', actor: 'test' });
    expect(invite.expiresAt - fx.clock.now()).toBe(8 * 3_600_000);
  });
});
