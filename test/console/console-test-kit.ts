/**
 * Shared by the console's tests: a Gatehouse with an admin signed in with a key, a member of staff, and
 * an administrator whose session came from password+TOTP (what a 2022-style relay obtains), plus the
 * calls a console page and console.js make.
 */
import { ManualClock } from '../../src/lib/clock.js';
import type { SoftwareAuthenticator } from '../../src/identity/webauthn/test-support/software-authenticator.js';
import { startFixture, type FixtureOptions, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser, type Reply } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';
import { relayFullSignIn, withLegacyFactors } from '../incident/relay-victims.js';

export interface ConsoleKit {
  fx: GatehouseFixture;
  clock: ManualClock;
  admin: TestBrowser;
  adminKey: SoftwareAuthenticator;
  staff: TestBrowser;
  passwordAdmin: TestBrowser;
  close(): Promise<void>;
}

export async function startConsoleKit(options: FixtureOptions = {}): Promise<ConsoleKit> {
  const clock = new ManualClock(Date.now());
  const fx = await startFixture({ legacy: { password: true, totp: true }, clock, ...options });
  const admin = new TestBrowser(fx.port);
  const adminKey = await enrolThroughPortal(fx, admin, 'admin@acme.test', ['admins']);
  const staff = new TestBrowser(fx.port);
  await enrolThroughPortal(fx, staff, 'staff@acme.test');
  const core = fx.gatehouse.core;
  await core.identity.invite({ email: 'pwadmin@acme.test', groups: ['admins'], actor: 'test' });
  const victim = await withLegacyFactors(core, 'pwadmin@acme.test', (await core.identity.users.require('pwadmin@acme.test')).id);
  const passwordAdmin = new TestBrowser(fx.port);
  passwordAdmin.cookies(fx.portalHost).set('gatehouse_session', await relayFullSignIn(core, victim));
  return { fx, clock, admin, adminKey, staff, passwordAdmin, close: () => fx.close() };
}

/** GETs a console page. */
export function page(kit: ConsoleKit, browser: TestBrowser, path: string): Promise<Reply> {
  return browser.fetch(`${kit.fx.portalOrigin}${path}`);
}

/** The CSRF token a console page carries in its meta tag. */
export async function csrfOf(kit: ConsoleKit, browser: TestBrowser, path = '/admin/sessions'): Promise<string> {
  const reply = await page(kit, browser, path);
  const match = /name="csrf-token" content="([^"]*)"/.exec(reply.body);
  if (!match?.[1]) throw new Error(`no CSRF token on ${path} (status ${reply.status})`);
  return match[1];
}

/** Posts a console form the way console.js does (urlencoded, Accept JSON, token in the header). */
export async function action(
  kit: ConsoleKit,
  browser: TestBrowser,
  path: string,
  fields: Record<string, string>,
  init: { csrf?: string | null; origin?: string; json?: boolean } = {},
): Promise<{ status: number; json: Record<string, unknown>; reply: Reply }> {
  const token = init.csrf === undefined ? await csrfOf(kit, browser) : init.csrf;
  const reply = await browser.fetch(`${kit.fx.portalOrigin}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: init.origin ?? kit.fx.portalOrigin,
      referer: `${kit.fx.portalOrigin}/admin/sessions`,
      ...(init.json === false ? {} : { accept: 'application/json' }),
      ...(token ? { 'x-csrf-token': token } : {}),
    },
    body: new URLSearchParams(fields).toString(),
  });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(reply.body) as Record<string, unknown>;
  } catch {
    // an HTML answer
  }
  return { status: reply.status, json, reply };
}
