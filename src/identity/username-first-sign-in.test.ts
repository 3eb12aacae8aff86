import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../../test/support/error-code.js';
import { openCoreFixture, PORTAL_ORIGIN, RP_ID, type CoreFixture } from '../../test/support/core-fixture.js';
import { WebauthnErrorCode } from './webauthn/index.js';
import { SoftwareAuthenticator } from './webauthn/test-support/software-authenticator.js';

/**
 * Username-first sign-in lists the user's credential ids, so a non-discoverable (server-side)
 * credential can answer; its authenticator stores no user.id and returns no userHandle (WebAuthn L3
 * §6.2.2, §7.2 step 6). Discoverable sign-in, where nothing else names the user, still needs it.
 */

const request = { ip: '192.0.2.10', userAgent: 'vitest' };

describe('username-first sign-in with non-discoverable credentials', () => {
  let fx: CoreFixture;
  beforeEach(async () => {
    fx = await openCoreFixture();
  });
  afterEach(() => fx.close());

  /**
   * A user and a credential as registration stores them. Stored directly: enrollment is not what is
   * under test, and the authenticator keeps no user.id, as a non-discoverable credential does not.
   */
  async function enrol(email: string) {
    const user = await fx.core.identity.addUser({ email, actor: 'test' });
    const authenticator = new SoftwareAuthenticator();
    await fx.core.identity.credentials.add({
      id: authenticator.id,
      userId: user.id,
      name: 'Key',
      publicKey: authenticator.cosePublicKey(),
      counter: 0,
      aaguid: '00000000-0000-0000-0000-000000000000',
      transports: ['usb'],
      authenticatorClass: 'swk',
      backedUp: false,
    });
    return { authenticator, user };
  }

  async function signIn(authenticator: SoftwareAuthenticator, email: string | undefined, userHandle: Uint8Array | null) {
    const start = await fx.core.identity.startSignIn({ email });
    const response = authenticator.authenticate({ challenge: start.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID, userHandle });
    return fx.core.identity.finishSignIn({ challengeId: start.challengeId, response }, request);
  }

  async function storedChallengeUser(challengeId: string): Promise<string | null> {
    const row = await fx.core.store.db.selectFrom('webauthn_challenges').select('user_id').where('id', '=', challengeId).executeTakeFirstOrThrow();
    return row.user_id;
  }

  it('signs in with the email and an assertion that carries no userHandle', async () => {
    const { authenticator, user } = await enrol('nora@acme.test');
    const result = await signIn(authenticator, 'nora@acme.test', null);
    expect('token' in result && result.session.userId).toBe(user.id);
  });

  it('still refuses username-first when a userHandle is sent and names someone else', async () => {
    const { authenticator } = await enrol('olga@acme.test');
    expect(await codeOf(signIn(authenticator, 'olga@acme.test', new Uint8Array([1, 2, 3])))).toBe(WebauthnErrorCode.userHandleMismatch);
  });

  it('refuses another user’s key answering a username-first challenge', async () => {
    await enrol('pia@acme.test');
    const other = await enrol('quinn@acme.test');
    expect(await codeOf(signIn(other.authenticator, 'pia@acme.test', null))).toBe(WebauthnErrorCode.unknownCredential);
  });

  it('refuses a discoverable sign-in (no email) without a userHandle, and with a wrong one', async () => {
    const { authenticator, user } = await enrol('rita@acme.test');
    expect(await codeOf(signIn(authenticator, undefined, null))).toBe(WebauthnErrorCode.userHandleMismatch);
    expect(await codeOf(signIn(authenticator, undefined, new Uint8Array([9])))).toBe(WebauthnErrorCode.userHandleMismatch);
    const ok = await signIn(authenticator, undefined, new Uint8Array(Buffer.from(user.id, 'utf8')));
    expect('token' in ok && ok.session.userId).toBe(user.id);
  });

  it('binds the challenge to the user only when real credentials were listed (the decoy path is unchanged)', async () => {
    const { user } = await enrol('sara@acme.test');
    const known = await fx.core.identity.startSignIn({ email: 'sara@acme.test' });
    expect(await storedChallengeUser(known.challengeId)).toBe(user.id);

    const unknown = await fx.core.identity.startSignIn({ email: 'nobody@acme.test' });
    expect(await storedChallengeUser(unknown.challengeId)).toBeNull();
    await fx.core.identity.addUser({ email: 'tess@acme.test', actor: 'test' }); // exists, has no key
    const keyless = await fx.core.identity.startSignIn({ email: 'tess@acme.test' });
    expect(await storedChallengeUser(keyless.challengeId)).toBeNull();

    // The options say nothing about which path was taken.
    expect(Object.keys(unknown.options).sort()).toEqual(Object.keys(known.options).sort());
    expect(Object.keys(keyless.options).sort()).toEqual(Object.keys(known.options).sort());
  });
});
