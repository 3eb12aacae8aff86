import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, haveChromium } from '../../../test/peers.js';
import { systemClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { buildAuthenticationOptions } from './build-authentication-options.js';
import { buildRegistrationOptions } from './build-registration-options.js';
import { newChallenge } from './new-challenge.js';
import { errorCodeOf } from './test-support/ceremony-fixture.js';
import { verifyAuthentication, type StoredCredential } from './verify-authentication.js';
import { verifyRegistration } from './verify-registration.js';
import { WebauthnErrorCode } from './webauthn-errors.js';
import type { RelyingParty } from './webauthn-settings.js';

/**
 * Real Chromium, its CDP virtual authenticator and @simplewebauthn/browser's own bundle: proves the
 * module accepts what a browser really posts, and that an assertion Chromium genuinely signs on a
 * sibling subdomain (allowed by the parent-domain RP ID) is refused by the exact origin list.
 */

// The package exports no subpath for its UMD bundle: find it from the package's entry point.
const browserEntry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
const browserRoot = browserEntry.slice(0, browserEntry.lastIndexOf('@simplewebauthn/browser/') + '@simplewebauthn/browser/'.length);
const browserBundle = readFileSync(`${browserRoot}dist/bundle/index.umd.min.js`, 'utf8');
const USER_ID = new Uint8Array([0x67, 0x68, 0x01]);

describe.runIf(haveChromium())('WebAuthn ceremonies with Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let port: number;
  let rp: RelyingParty;
  let stored: StoredCredential;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/swa.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(browserBundle);
      } else {
        response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>t</title><script src="/swa.js"></script>');
      }
    });
    // Chromium tries ::1 first for *.localhost; '::' also accepts IPv4 here.
    await new Promise<void>((resolve) => server.listen(0, '::', resolve));
    port = (server.address() as AddressInfo).port;
    rp = { id: 'acme.localhost', name: 'Acme', origins: [`http://sso.acme.localhost:${port}`] };
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.0.0.1',
      ],
    });
    page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  async function inBrowser(host: string, call: 'startRegistration' | 'startAuthentication', optionsJSON: unknown): Promise<unknown> {
    await page.goto(`http://${host}:${port}/`);
    return page.evaluate(
      async ({ call, optionsJSON }) => {
        const lib = (globalThis as unknown as Record<string, Record<string, (o: unknown) => Promise<unknown>>>).SimpleWebAuthnBrowser!;
        try {
          return await lib[call]!({ optionsJSON });
        } catch (error) {
          return { browserError: (error as Error).name, message: (error as Error).message };
        }
      },
      { call, optionsJSON },
    );
  }

  async function signInOptions(challenge: Uint8Array, allow = true) {
    return buildAuthenticationOptions({
      rp,
      challenge,
      allowCredentials: allow ? [{ id: stored.id }] : [],
      userVerification: 'required',
      timeoutMs: 10_000,
    });
  }

  it('registers a credential created by the browser', async () => {
    const challenge = newChallenge(cryptoRandom);
    const options = await buildRegistrationOptions({
      rp,
      user: { id: USER_ID, name: 'alice@acme.localhost', displayName: 'Alice' },
      challenge,
      userVerification: 'required',
      residentKey: 'required',
      attestation: 'direct',
      timeoutMs: 10_000,
    });
    const response = await inBrowser('sso.acme.localhost', 'startRegistration', options);
    const result = await verifyRegistration({
      response,
      expectedChallenge: challenge,
      rp,
      policy: { userVerification: 'required', trustedModels: [] },
      clock: systemClock,
    });
    expect(result.userVerified).toBe(true);
    expect(result.authenticatorClass).toBe('swk'); // the virtual authenticator is no allowlisted model
    stored = { id: result.credentialId, publicKey: result.publicKey, counter: result.counter, userId: USER_ID };
  });

  it('verifies username-first and discoverable sign-in from the browser', async () => {
    for (const allow of [true, false]) {
      const challenge = newChallenge(cryptoRandom);
      const response = await inBrowser('sso.acme.localhost', 'startAuthentication', await signInOptions(challenge, allow));
      const result = await verifyAuthentication({
        response,
        expectedChallenge: challenge,
        rp,
        credential: stored,
        requireUserVerification: true,
        requireUserHandle: !allow,
      });
      expect(result.userVerified).toBe(true);
      stored = { ...stored, counter: result.newCounter };
    }
  });

  it('refuses an assertion Chromium really signed on a sibling subdomain of the RP ID', async () => {
    const challenge = newChallenge(cryptoRandom);
    const response = await inBrowser('wiki.acme.localhost', 'startAuthentication', await signInOptions(challenge));
    expect(response).toHaveProperty('response.signature'); // the browser did sign: RP ID acme.localhost covers wiki.
    const verify = () => verifyAuthentication({ response, expectedChallenge: challenge, rp, credential: stored, requireUserVerification: true });
    expect(await errorCodeOf(verify)).toBe(WebauthnErrorCode.originMismatch);
  });

  it('gets nothing signed for our RP ID on a lookalike domain (the browser refuses)', async () => {
    const response = await inBrowser('acme-okta.localhost', 'startAuthentication', await signInOptions(newChallenge(cryptoRandom)));
    expect(response).toMatchObject({ browserError: 'SecurityError' });
  });
});
