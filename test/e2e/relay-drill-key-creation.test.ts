/**
 * The 2022 relay drill, part 3: where keys come into existence. Sign-in holds against a relay; these are
 * the ways around it a kit would try next, each in Chromium with a virtual authenticator behind a live
 * relay on `acme-okta.localhost`, each ending with its refusal code:
 *  - a phished password+TOTP session adds the attacker's own key (key_proof_required), from the
 *    attacker's browser on the real portal and through the relay alike;
 *  - a phished administrator's password+TOTP session, on every admin API route
 *    (admin_phishing_resistant_required);
 *  - a relayed enrollment from a leaked invite link: the RP ID rewritten to the lookalike, attestation
 *    `none` requested, and clientDataJSON's origin and the rpIdHash rewritten in what the browser posts.
 *    The registration verifies (nothing signed those values); the key's activation assertion cannot be
 *    made for our origin, so no key and no session result (webauthn_rp_id_mismatch,
 *    webauthn_bad_signature), and the invite still works for its owner.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyFactors } from '../../src/identity/index.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { startPhishingRelay, type PhishingRelay, type RelayOptions } from '../support/relay.js';
import { csrfMetaOf, hostRequest } from './host-request.js';
import { auditMark, auditSince, clickAndLand, clickAndReadError, CSRF_COOKIE, SESSION_COOKIE } from './portal-steps.js';

const PASSWORD = 'correct horse battery staple';
const ENROLL_REFUSED = 'Sign-in failed. Try again.';

describe.runIf(haveChromium())('relay drill: keys that cannot be phished into existence', { timeout: 60_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  const relays: PhishingRelay[] = [];
  const portalAuthority = () => `${fixture.portalHost}:${fixture.port}`;

  const relay = async (extra: Partial<RelayOptions> = {}) => {
    const started = await startPhishingRelay({ lookalikeHost: 'acme-okta.localhost', portalHost: fixture.portalHost, portalPort: fixture.port, ...extra });
    relays.push(started);
    return started;
  };

  /** A password+TOTP user who types both into the lookalike in Chromium; returns the session the relay kept. */
  async function phishPasswordUser(email: string, groups: string[]): Promise<{ userId: string; stolen: string }> {
    const { identity } = fixture.gatehouse.core;
    const user = await identity.users.add({ email, groups });
    await identity.legacy.setPassword(user.id, PASSWORD);
    const secret = await identity.legacy.enrollTotp(user.id);
    const phish = await relay();
    const { tab } = await KeyedPage.open(browser);
    try {
      await tab.page.goto(`${phish.origin}/sign-in`);
      const form = tab.page.locator('form[action="/sign-in/password"]');
      await form.locator('[name=email]').fill(email);
      await form.locator('[name=password]').fill(PASSWORD);
      await form.locator('[name=code]').fill(await LegacyFactors.codeFor(secret, Date.now()));
      await clickAndLand(tab.page, 'form[action="/sign-in/password"] button[type=submit]', /\/account$/);
    } finally {
      await tab.close();
    }
    const stolen = phish.stolenCookie(SESSION_COOKIE);
    if (!stolen) throw new Error('the relay kept no session');
    return { userId: user.id, stolen };
  }

  beforeAll(async () => {
    fixture = await startFixture({ domain: 'acme.localhost', legacy: { password: true, totp: true } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const phish of relays) await phish.close();
    await browser?.close();
    await fixture?.close();
  });

  it('a phished password+TOTP session cannot add the attacker’s key (key_proof_required)', async () => {
    const { userId, stolen } = await phishPasswordUser('carol@acme.test', ['staff']);
    const mark = await auditMark(fixture);
    // The attacker's own browser and key, on the real portal, with the stolen cookie.
    const { tab: attacker } = await KeyedPage.open(browser);
    try {
      await attacker.context.addCookies([{ name: SESSION_COOKIE, value: stolen, domain: fixture.portalHost, path: '/' }]);
      await attacker.page.goto(`${fixture.portalOrigin}/account`);
      await expect(attacker.page.locator('main').textContent()).resolves.toContain('carol@acme.test');
      const refused = attacker.page.waitForResponse((r) => r.url().endsWith('/api/account/keys/options'));
      await expect(clickAndReadError(attacker.page, '#add-key')).resolves.toBe('Sign in with your security key or passkey to do this.');
      expect((await refused).status()).toBe(403);
    } finally {
      await attacker.close();
    }
    // Straight at the later steps too, as a script would: the session is checked at each one.
    const page = await hostRequest({ authority: portalAuthority(), path: '/account', cookies: { [SESSION_COOKIE]: stolen } });
    const csrf = { cookies: { [SESSION_COOKIE]: stolen, [CSRF_COOKIE]: page.setCookies[CSRF_COOKIE]! }, headers: { origin: fixture.portalOrigin, 'x-csrf-token': csrfMetaOf(page.body) } };
    for (const [path, json] of [
      ['/api/account/keys/verify', { challengeId: 'x', response: {} }],
      ['/api/account/keys/activate', { activationId: 'x', response: {} }],
    ] as const) {
      const reply = await hostRequest({ authority: portalAuthority(), method: 'POST', path, json, ...csrf });
      expect(reply.status, path).toBeGreaterThanOrEqual(400);
    }
    expect(await fixture.gatehouse.core.identity.credentials.countForUser(userId)).toBe(0);
    const refusals = await auditSince(fixture, 'key.added', mark, userId);
    expect(refusals.map((e) => [e.outcome, e.code])).toContainEqual(['failure', 'key_proof_required']);
    expect(refusals.filter((e) => e.outcome === 'success')).toEqual([]);
  });

  it('a phished administrator’s password+TOTP session reaches no admin API route (admin_phishing_resistant_required)', async () => {
    const { userId, stolen } = await phishPasswordUser('root@acme.test', ['admins']);
    const page = await hostRequest({ authority: portalAuthority(), path: '/account', cookies: { [SESSION_COOKIE]: stolen } });
    const csrf = { [CSRF_COOKIE]: page.setCookies[CSRF_COOKIE]! };
    const routes: [string, string, unknown][] = [
      ['GET', '/admin/api/session', undefined],
      ['GET', '/admin/api/incidents', undefined],
      ['POST', '/admin/api/incidents', { title: 'attacker' }],
      ['GET', '/admin/api/incidents/inc-1', undefined],
      ['POST', '/admin/api/incidents/inc-1/close', {}],
      ['POST', '/admin/api/incidents/inc-1/resume', {}],
      ['POST', '/admin/api/hunts/new-admins', {}],
    ];
    for (const [method, path, json] of routes) {
      const reply = await hostRequest({
        authority: portalAuthority(),
        method,
        path,
        ...(json !== undefined ? { json } : {}),
        cookies: { [SESSION_COOKIE]: stolen, ...csrf },
        headers: { origin: fixture.portalOrigin, 'x-csrf-token': csrfMetaOf(page.body) },
      });
      expect([reply.status, JSON.parse(reply.body).error], `${method} ${path}`).toEqual([403, 'admin_phishing_resistant_required']);
    }
    // Nor can it mint itself a key to get there.
    const keyOptions = await hostRequest({ authority: portalAuthority(), method: 'POST', path: '/api/account/keys/options', json: {}, cookies: { [SESSION_COOKIE]: stolen, ...csrf }, headers: { origin: fixture.portalOrigin, 'x-csrf-token': csrfMetaOf(page.body) } });
    expect(keyOptions.status).toBe(403);
    expect(await fixture.gatehouse.core.identity.credentials.countForUser(userId)).toBe(0);
    expect(await fixture.gatehouse.core.store.db.selectFrom('incidents').select('id').execute()).toEqual([]);
  });

  for (const { variant, forge, code, stage, message, exchanges } of [
    {
      // The rpIdHash sits in the authenticator data: left alone, it gives the lookalike away at once.
      variant: 'origin rewritten',
      forge: { origin: true },
      code: 'webauthn_rp_id_mismatch',
      stage: 'registration',
      message: 'Security key registration failed. Try again.',
      exchanges: ['/api/enroll/options 200', '/api/enroll/verify 401'],
    },
    {
      // Both rewritten: nothing in a `none` registration signs them, so it passes, as a pending key;
      // the activation assertion is signed over the lookalike's rpIdHash and client data.
      variant: 'origin and rpIdHash rewritten',
      forge: { origin: true, rpIdHash: true },
      code: 'webauthn_bad_signature',
      stage: 'activation',
      message: ENROLL_REFUSED,
      exchanges: ['/api/enroll/options 200', '/api/enroll/verify 200', '/api/enroll/activate 401'],
    },
  ] as const) {
    it(`a relayed enrollment (RP ID rewritten, attestation none, ${variant}) ends with no key and no session (${code})`, async () => {
      const email = `dave-${forge.rpIdHash ? 'b' : 'a'}@acme.test`;
      const invite = await fixture.gatehouse.core.identity.invite({ email, actor: 'test' });
      const phish = await relay({ rewriteRpId: 'acme-okta.localhost', forgeCeremonies: { realRpId: 'acme.localhost', attestationNone: true, ...forge } });
      const mark = await auditMark(fixture);
      const { tab: victim, authenticatorId } = await KeyedPage.open(browser);
      try {
        // The victim follows the leaked link through the lookalike and does what the page asks.
        await victim.page.goto(invite.url.replace(fixture.portalOrigin, phish.origin));
        await expect(clickAndReadError(victim.page, '#enroll-key')).resolves.toBe(message);
        // The browser made a real credential, for the lookalike's RP ID, and signed with it twice.
        const [made] = await victim.credentials(authenticatorId);
        expect(made?.rpId).toBe('acme-okta.localhost');
        expect(phish.loot.exchanges.filter((x) => x.path.startsWith('/api/enroll/')).map((x) => `${x.path} ${x.status}`)).toEqual(exchanges);
        expect(await victim.cookie(phish.origin, SESSION_COOKIE)).toBeUndefined();
      } finally {
        await victim.close();
      }
      expect(phish.stolenCookie(SESSION_COOKIE)).toBeUndefined();
      expect(await fixture.gatehouse.core.identity.credentials.countForUser(invite.user.id)).toBe(0);
      expect(await fixture.gatehouse.core.store.db.selectFrom('pending_credentials').select('id').where('user_id', '=', invite.user.id).execute()).toEqual([]);
      const events = await auditSince(fixture, 'enrollment', mark, invite.user.id);
      expect(events.map((e) => [e.outcome, e.code])).toEqual([['failure', code]]);
      expect(events[0]!.detail).toMatchObject({ stage });
      // The link still works for its owner, on the real portal.
      const { tab: owner } = await KeyedPage.open(browser);
      try {
        await owner.page.goto(invite.url);
        await clickAndLand(owner.page, '#enroll-key', /\/account\?enrolled=1$/);
      } finally {
        await owner.close();
      }
      expect(await fixture.gatehouse.core.identity.credentials.countForUser(invite.user.id)).toBe(1);
    });
  }
});
