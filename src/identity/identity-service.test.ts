import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../../test/support/error-code.js';
import { openCoreFixture, PORTAL_ORIGIN, RP_ID, type CoreFixture } from '../../test/support/core-fixture.js';
import { LegacyFactors } from './legacy-factors.js';
import { SoftwareAuthenticator } from './webauthn/test-support/software-authenticator.js';

const request = { ip: '192.0.2.10', userAgent: 'vitest' };

function tokenOf(url: string): string {
  return new URL(url).searchParams.get('token')!;
}

describe('identity service (SQLite)', () => {
  let fx: CoreFixture;
  beforeEach(async () => {
    fx = await openCoreFixture({ extraYaml: 'identity:\n  legacy: { password: true, totp: true }\n' });
  });
  afterEach(() => fx.close());

  async function enrol(email: string, authenticator = new SoftwareAuthenticator()) {
    const { identity } = fx.core;
    const invite = await identity.invite({ email, groups: ['staff'], actor: 'test' });
    const token = tokenOf(invite.url);
    const start = await identity.startEnrollment(token, request);
    const response = authenticator.register({
      challenge: start.options.challenge,
      origin: PORTAL_ORIGIN,
      rpId: RP_ID,
      userId: new Uint8Array(Buffer.from(start.options.user.id, 'base64url')),
    });
    const activation = await identity.finishRegistration({ challengeId: start.challengeId, inviteToken: token, response, keyName: 'Blue key' }, request);
    const proof = authenticator.authenticate({ challenge: activation.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
    const result = await identity.activateKey({ activationId: activation.activationId, inviteToken: token, response: proof }, request);
    return { authenticator, token, result, user: invite.user };
  }

  async function signIn(authenticator: SoftwareAuthenticator, overrides: Partial<Parameters<SoftwareAuthenticator['authenticate']>[0]> = {}, email?: string) {
    const start = await fx.core.identity.startSignIn({ email });
    const response = authenticator.authenticate({ challenge: start.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID, ...overrides });
    return fx.core.identity.finishSignIn({ challengeId: start.challengeId, response }, request);
  }

  it('enrols from an invite, signs the user in with AMR swk+mfa and a phishing-resistant time', async () => {
    const { result, user } = await enrol('alice@acme.test');
    expect(result.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(result.session?.amr).toEqual(['swk', 'mfa']);
    expect(result.session?.phishingResistantAt).toBe(fx.clock.now());
    const stored = await fx.core.store.db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow();
    expect(stored.id_hash).not.toBe(result.token); // only the hash at rest
    const keys = await fx.core.identity.credentials.listForUser(user.id);
    expect(keys.map((k) => [k.name, k.authenticatorClass])).toEqual([['Blue key', 'swk']]);
    const audit = await fx.core.audit.list({ type: 'enrollment' });
    expect(audit[0]).toMatchObject({ outcome: 'success', userId: user.id });
  });

  it('refuses a used, an unknown and an expired invite, and stores nothing', async () => {
    const { token } = await enrol('bob@acme.test');
    expect(await codeOf(fx.core.identity.startEnrollment(token, request))).toBe('invite_used');
    expect(await codeOf(fx.core.identity.startEnrollment('A'.repeat(43), request))).toBe('invite_unknown');
    const fresh = await fx.core.identity.invite({ email: 'carol@acme.test', actor: 'test' });
    fx.clock.advance(24 * 3_600_000 + 1);
    expect(await codeOf(fx.core.identity.startEnrollment(tokenOf(fresh.url), request))).toBe('invite_expired');
    const failures = await fx.core.audit.list({ type: 'enrollment' });
    expect(failures.filter((e) => e.outcome === 'failure').map((e) => e.code)).toEqual(['invite_expired', 'invite_unknown', 'invite_used']);
    expect(await fx.core.identity.credentials.countForUser(fresh.user.id)).toBe(0);
  });

  it('signs in discoverably and username-first; the counter is stored', async () => {
    const { authenticator, user } = await enrol('dave@acme.test');
    const first = await signIn(authenticator);
    expect('token' in first && first.session.userId).toBe(user.id);
    await signIn(authenticator, {}, 'dave@acme.test');
    const [key] = await fx.core.identity.credentials.listForUser(user.id);
    expect(key!.counter).toBe(authenticator.signCount);
  });

  it('username-first options for an unknown email look like a real user’s (decoy credential)', async () => {
    const unknown = await fx.core.identity.startSignIn({ email: 'nobody@acme.test' });
    const again = await fx.core.identity.startSignIn({ email: 'nobody@acme.test' });
    expect([1, 2]).toContain(unknown.options.allowCredentials!.length); // one key, or a key and a spare
    expect(unknown.options.allowCredentials![0]!.transports?.length).toBeGreaterThan(0);
    expect(unknown.options.allowCredentials![0]!.id).toBe(again.options.allowCredentials![0]!.id);
  });

  describe('every WebAuthn check refuses with its code and audits it', () => {
    it('wrong origin (the lookalike relay)', async () => {
      const { authenticator, user } = await enrol('erin@acme.test');
      expect(await codeOf(signIn(authenticator, { origin: 'https://acme-okta.localhost' }))).toBe('webauthn_origin_mismatch');
      const [event] = await fx.core.audit.list({ type: 'sign_in' });
      expect(event).toMatchObject({ outcome: 'failure', code: 'webauthn_origin_mismatch', userId: user.id });
    });
    it('a subdomain of the RP ID that is not in the exact origin list', async () => {
      const { authenticator } = await enrol('erin2@acme.test');
      expect(await codeOf(signIn(authenticator, { origin: 'https://login.acme.localhost' }))).toBe('webauthn_origin_mismatch');
    });
    it('wrong relying-party hash (the relay’s own RP ID)', async () => {
      const { authenticator } = await enrol('frank@acme.test');
      expect(await codeOf(signIn(authenticator, { rpId: 'acme-okta.localhost' }))).toBe('webauthn_rp_id_mismatch');
    });
    it('replayed challenge: the same response twice', async () => {
      const { authenticator } = await enrol('grace@acme.test');
      const start = await fx.core.identity.startSignIn({});
      const response = authenticator.authenticate({ challenge: start.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
      await fx.core.identity.finishSignIn({ challengeId: start.challengeId, response }, request);
      expect(await codeOf(fx.core.identity.finishSignIn({ challengeId: start.challengeId, response }, request))).toBe('webauthn_challenge_unknown');
    });
    it('a response for another challenge', async () => {
      const { authenticator } = await enrol('gina@acme.test');
      const start = await fx.core.identity.startSignIn({});
      const other = await fx.core.identity.startSignIn({});
      const response = authenticator.authenticate({ challenge: other.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
      expect(await codeOf(fx.core.identity.finishSignIn({ challengeId: start.challengeId, response }, request))).toBe('webauthn_challenge_mismatch');
    });
    it('expired challenge', async () => {
      const { authenticator } = await enrol('heidi@acme.test');
      const start = await fx.core.identity.startSignIn({});
      const response = authenticator.authenticate({ challenge: start.options.challenge, origin: PORTAL_ORIGIN, rpId: RP_ID });
      fx.clock.advance(301_000);
      expect(await codeOf(fx.core.identity.finishSignIn({ challengeId: start.challengeId, response }, request))).toBe('webauthn_challenge_expired');
    });
    it('counter regression: a possible cloned key, flagged in the audit log', async () => {
      const { authenticator, user } = await enrol('ivan@acme.test');
      await signIn(authenticator, { counter: 10 });
      expect(await codeOf(signIn(authenticator, { counter: 5 }))).toBe('webauthn_counter_regression');
      const [event] = await fx.core.audit.list({ type: 'sign_in' });
      expect(event).toMatchObject({ code: 'webauthn_counter_regression', userId: user.id });
      expect(event!.detail.alert).toBe('possible cloned security key');
    });
    it('no user presence', async () => {
      const { authenticator } = await enrol('judy@acme.test');
      expect(await codeOf(signIn(authenticator, { userPresent: false }))).toBe('webauthn_user_not_present');
    });
    it('user verification required but absent', async () => {
      await fx.close();
      fx = await openCoreFixture({ extraYaml: '' });
      const original = fx.core.identity.ctx.settings;
      const { authenticator } = await enrol('ken@acme.test');
      fx.core.identity.ctx.settings = () => ({ ...original(), webauthn: { ...original().webauthn, userVerification: 'required' } });
      expect(await codeOf(signIn(authenticator, { userVerified: false }))).toBe('webauthn_user_not_verified');
    });
    it('a signature by another key', async () => {
      const { authenticator } = await enrol('leo@acme.test');
      const impostor = new SoftwareAuthenticator();
      expect(await codeOf(signIn(authenticator, { signingKey: impostor.privateKey }))).toBe('webauthn_bad_signature');
    });
    it('an unknown credential', async () => {
      await enrol('mia@acme.test');
      expect(await codeOf(signIn(new SoftwareAuthenticator()))).toBe('webauthn_unknown_credential');
    });
  });

  it('a disabled user cannot sign in and loses every session at once', async () => {
    const { authenticator, user, result } = await enrol('nick@acme.test');
    await fx.core.identity.setUserStatus(user.id, 'disabled', 'test');
    expect(await fx.core.identity.sessions.validate(result.token)).toBeUndefined();
    expect(await codeOf(signIn(authenticator))).toBe('user_disabled');
  });

  it('sessions end after the idle and the absolute timeout', async () => {
    const { result, authenticator } = await enrol('olga@acme.test');
    fx.clock.advance(8 * 3_600_000 + 1);
    expect(await fx.core.identity.sessions.validate(result.token)).toBeUndefined();
    const again = await signIn(authenticator);
    const token = (again as { token: string }).token;
    for (let hour = 0; hour < 24; hour++) {
      fx.clock.advance(3_600_000);
      if (hour < 23) expect(await fx.core.identity.sessions.validate(token)).toBeDefined();
    }
    expect(await fx.core.identity.sessions.validate(token)).toBeUndefined();
  });

  describe('legacy factors', () => {
    async function legacyUser(email: string) {
      const user = await fx.core.identity.users.add({ email });
      await fx.core.identity.legacy.setPassword(user.id, 'correct horse battery');
      const secret = await fx.core.identity.legacy.enrollTotp(user.id);
      return { user, secret };
    }

    it('password+TOTP signs in with AMR pwd otp mfa and no phishing-resistant time', async () => {
      const { secret } = await legacyUser('pat@acme.test');
      const code = await LegacyFactors.codeFor(secret, fx.clock.now());
      const result = await fx.core.identity.legacySignIn({ email: 'pat@acme.test', password: 'correct horse battery', code }, request);
      expect(result.session.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect(result.session.phishingResistantAt).toBeUndefined();
    });

    it('a TOTP code is accepted once (RFC 6238 §5.2)', async () => {
      const { secret } = await legacyUser('quinn@acme.test');
      const code = await LegacyFactors.codeFor(secret, fx.clock.now());
      await fx.core.identity.legacySignIn({ email: 'quinn@acme.test', password: 'correct horse battery', code }, request);
      expect(await codeOf(fx.core.identity.legacySignIn({ email: 'quinn@acme.test', password: 'correct horse battery', code }, request))).toBe('bad_totp');
    });

    it('wrong password and unknown user fail alike', async () => {
      await legacyUser('rita@acme.test');
      expect(await codeOf(fx.core.identity.legacySignIn({ email: 'rita@acme.test', password: 'wrong password!', code: '000000' }, request))).toBe('bad_credentials');
      expect(await codeOf(fx.core.identity.legacySignIn({ email: 'ghost@acme.test', password: 'wrong password!', code: '000000' }, request))).toBe('bad_credentials');
    });

    it('a user who has a key cannot be downgraded to password+TOTP', async () => {
      const { user, secret } = await legacyUser('sam@acme.test');
      await enrol('sam@acme.test');
      const code = await LegacyFactors.codeFor(secret, fx.clock.now());
      expect(await codeOf(fx.core.identity.legacySignIn({ email: 'sam@acme.test', password: 'correct horse battery', code }, request))).toBe('legacy_downgrade_refused');
      const [event] = await fx.core.audit.list({ type: 'sign_in' });
      expect(event).toMatchObject({ outcome: 'failure', code: 'legacy_downgrade_refused', userId: user.id });
    });
  });

  it('adding a user to groups is audited (the new-admins hunt and the admin-group alert read it)', async () => {
    const user = await fx.core.identity.addUser({ email: 'root@acme.test', groups: ['admins'], actor: 'cli' });
    const [event] = await fx.core.audit.list({ type: 'user.group_added' });
    expect(event).toMatchObject({ userId: user.id, actor: 'cli', detail: { groups: ['admins'] } });
  });

  it('keys: rename, refuse removing the last one, admin may remove it', async () => {
    const { user, result } = await enrol('tom@acme.test');
    const [key] = await fx.core.identity.credentials.listForUser(user.id);
    await fx.core.identity.renameKey(user.id, key!.id, 'Office key', 'test', result.session);
    expect((await fx.core.identity.credentials.find(key!.id))!.name).toBe('Office key');
    expect(await codeOf(fx.core.identity.removeKey(user.id, key!.id, { byAdmin: false, actor: 'test', session: result.session! }))).toBe('last_key');
    await fx.core.identity.removeKey(user.id, key!.id, { byAdmin: true, actor: 'cli' });
    expect(await fx.core.identity.credentials.countForUser(user.id)).toBe(0);
  });
});
