/**
 * Real Chromium for end-to-end tests: Debian's binary driven by playwright-core, no outside network,
 * and a CDP virtual authenticator per page standing in for a USB security key (PITFALLS.md "Browser
 * tests"). The authenticator must exist before any ceremony starts: without one, navigator.credentials
 * calls hang and ignore their timeout.
 */
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from '../peers.js';

/** Flags that keep Chromium off the network: only localhost names resolve (they are secure contexts). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.0.0.1',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS], timeout: 60_000 });
}

// Page-side source (the tests compile without DOM types, so it is a string, not a function).
const RECORD_CREDENTIAL_ERRORS = `(() => {
  const log = [];
  Object.defineProperty(window, '__credentialErrors', { value: log });
  for (const method of ['create', 'get']) {
    const original = navigator.credentials[method].bind(navigator.credentials);
    navigator.credentials[method] = (options) => original(options).catch((error) => {
      log.push({ name: error && error.name, message: error && error.message });
      throw error;
    });
  }
})();`;

/** A credential as CDP reports it: ids, handle and key are standard base64, the key PKCS#8 DER. */
export interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

export interface AuthenticatorOptions {
  /** Defaults to true: a test that wants a key left "in the drawer" turns presence off. */
  automaticPresenceSimulation?: boolean;
}

/** One browser tab with its own cookie jar (context) and the CDP session that drives its authenticators. */
export class KeyedPage {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly cdp: CDPSession,
  ) {}

  /** A fresh context and page with WebAuthn enabled and one authenticator plugged in. */
  static async open(browser: Browser, options: AuthenticatorOptions = {}): Promise<{ tab: KeyedPage; authenticatorId: string }> {
    const context = await browser.newContext();
    context.setDefaultTimeout(30_000);
    context.setDefaultNavigationTimeout(30_000);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const tab = new KeyedPage(context, page, cdp);
    const authenticatorId = await tab.addAuthenticator(options);
    return { tab, authenticatorId };
  }

  /** Plugs in another USB CTAP2 key with resident keys and user verification (a PIN the user knows). */
  async addAuthenticator(options: AuthenticatorOptions = {}): Promise<string> {
    const { authenticatorId } = await this.cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        ctap2Version: 'ctap2_1',
        transport: 'usb',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: options.automaticPresenceSimulation ?? true,
      },
    });
    return authenticatorId;
  }

  /** Whether the key answers a touch request at once (true) or is left untouched (false). */
  async setPresence(authenticatorId: string, enabled: boolean): Promise<void> {
    await this.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
  }

  async removeAuthenticator(authenticatorId: string): Promise<void> {
    await this.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  }

  /** Every credential the authenticator holds, private keys included (what a cloned key would leak). */
  async credentials(authenticatorId: string): Promise<VirtualCredential[]> {
    const { credentials } = await this.cdp.send('WebAuthn.getCredentials', { authenticatorId });
    return credentials.map((c) => ({
      credentialId: c.credentialId,
      isResidentCredential: c.isResidentCredential,
      privateKey: c.privateKey,
      signCount: c.signCount,
      ...(c.rpId === undefined ? {} : { rpId: c.rpId }),
      ...(c.userHandle === undefined ? {} : { userHandle: c.userHandle }),
    }));
  }

  /** Copies a credential into an authenticator (the same hardware key plugged into another computer). */
  async importCredential(authenticatorId: string, credential: VirtualCredential): Promise<void> {
    await this.cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
  }

  /**
   * Records every rejection of navigator.credentials.create/get in the page as `{ name, message }`,
   * so a test can assert the DOMException the browser raised (the page itself shows only friendly
   * text). Installed before any page script runs; it observes and rethrows, changing nothing.
   */
  async recordCredentialErrors(): Promise<void> {
    await this.context.addInitScript({ content: RECORD_CREDENTIAL_ERRORS });
  }

  /** What `recordCredentialErrors` saw on the current page, oldest first. */
  credentialErrors(): Promise<{ name: string; message: string }[]> {
    return this.page.evaluate('[...(window.__credentialErrors ?? [])]') as Promise<{ name: string; message: string }[]>;
  }

  /** The value of a cookie this tab holds for `url`, if any. */
  async cookie(url: string, name: string): Promise<string | undefined> {
    return (await this.context.cookies(url)).find((c) => c.name === name)?.value;
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => {});
  }
}

/** CDP reports ids in standard base64; WebAuthn JSON and the server use base64url without padding. */
export function base64ToBase64url(value: string): string {
  return Buffer.from(value, 'base64').toString('base64url');
}

/**
 * Console errors of `page` from now on, collected for a test to assert empty: a CSP violation is one,
 * a script error too; a failed load of the page itself (its own 4xx/5xx status) is not.
 */
export function watchConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (/^Failed to load resource: the server responded with a status of \d+/.test(text) && message.location().url === page.url()) return;
    errors.push(`${text} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return errors;
}
