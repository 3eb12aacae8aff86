/** Drives the portal's JSON endpoints with a software authenticator, as portal.js does in a browser. */
import { SoftwareAuthenticator } from '../../src/identity/webauthn/test-support/software-authenticator.js';
import type { GatehouseFixture } from './gatehouse-fixture.js';
import type { TestBrowser } from './http-client.js';

async function csrfToken(browser: TestBrowser, fx: GatehouseFixture): Promise<string> {
  const page = await browser.fetch(`${fx.portalOrigin}/sign-in?step_up=1`);
  return /name="csrf-token" content="([^"]*)"/.exec(page.body)![1]!;
}

async function postJson(browser: TestBrowser, fx: GatehouseFixture, path: string, body: unknown) {
  const token = await csrfToken(browser, fx);
  const reply = await browser.fetch(`${fx.portalOrigin}${path}`, {
    method: 'POST',
    headers: { origin: fx.portalOrigin, 'x-csrf-token': token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: reply.status, json: () => JSON.parse(reply.body) as Record<string, unknown> };
}

/** Invites `email`, enrols a new software key through the portal and leaves `browser` signed in. */
export async function enrolThroughPortal(fx: GatehouseFixture, browser: TestBrowser, email: string, groups: string[] = []): Promise<SoftwareAuthenticator> {
  const invite = await fx.gatehouse.core.identity.invite({ email, groups, actor: 'test' });
  const token = new URL(invite.url).searchParams.get('token')!;
  const start = (await postJson(browser, fx, '/api/enroll/options', { token })).json() as { challengeId: string; options: { challenge: string; user: { id: string } } };
  const key = new SoftwareAuthenticator();
  const response = key.register({ challenge: start.options.challenge, origin: fx.portalOrigin, rpId: fx.portalHost.slice(4), userId: new Uint8Array(Buffer.from(start.options.user.id, 'base64url')) });
  const pending = await postJson(browser, fx, '/api/enroll/verify', { challengeId: start.challengeId, token, response, name: 'Test key' });
  if (pending.status !== 200) throw new Error(`registration failed with ${pending.status}`);
  const activation = pending.json() as { activationId: string; options: { challenge: string } };
  const proof = key.authenticate({ challenge: activation.options.challenge, origin: fx.portalOrigin, rpId: fx.portalHost.slice(4) });
  const done = await postJson(browser, fx, '/api/enroll/activate', { activationId: activation.activationId, token, response: proof });
  if (done.status !== 200) throw new Error(`enrollment failed with ${done.status}`);
  return key;
}

/** Signs `browser` in with `key` (or steps up its session). */
export async function signInThroughPortal(fx: GatehouseFixture, browser: TestBrowser, key: SoftwareAuthenticator, options: { stepUp?: boolean } = {}): Promise<number> {
  const start = (await postJson(browser, fx, '/api/sign-in/options', options.stepUp ? { stepUp: true } : {})).json() as { challengeId: string; options: { challenge: string } };
  const response = key.authenticate({ challenge: start.options.challenge, origin: fx.portalOrigin, rpId: fx.portalHost.slice(4) });
  const done = await postJson(browser, fx, '/api/sign-in/verify', { challengeId: start.challengeId, response, stepUp: Boolean(options.stepUp) });
  return done.status;
}

export { postJson };
