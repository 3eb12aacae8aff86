import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SessionRow, StoredCredential } from '../identity/index.js';
import { describeUserAgent } from './describe-user-agent.js';
import { accountPage, messagePage, signInPage } from './pages.js';
import { PORTAL_CSS } from './portal-css.js';
import { destinationOf } from './return-to.js';
import { PORTAL_CSP } from './security-headers.js';
import { signInMethodLabel } from './sign-in-method-label.js';

const ctx = { organisation: 'Acme', csrfToken: 'csrf-token-value' };

describe('the inline stylesheet', () => {
  it('is allowed by the CSP through its hash, and nothing else inline is', () => {
    const page = messagePage(ctx, { title: 'T', message: 'M' });
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)?.[1];
    expect(style).toBe(PORTAL_CSS);
    const hash = createHash('sha256').update(style!).digest('base64');
    expect(PORTAL_CSP).toContain(`style-src 'self' 'sha256-${hash}'`);
    expect(PORTAL_CSP).not.toContain('unsafe-inline');
    expect(page).not.toContain(' style=');
    expect(page).not.toContain('/assets/portal.css');
  });
});

describe('describeUserAgent', () => {
  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge on Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari on iOS'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox on Linux'],
    ['curl/8.5.0', 'curl'],
    ['', 'Unknown browser'],
    ['<script>alert(1)</script>', 'Unknown browser'],
  ])('%s', (userAgent, expected) => {
    expect(describeUserAgent(userAgent)).toBe(expected);
  });
});

describe('signInMethodLabel', () => {
  it.each([
    [['hwk', 'mfa'], 'Security key'],
    [['swk', 'mfa'], 'Passkey'],
    [['swk'], 'Passkey'],
    [['pwd', 'otp', 'mfa'], 'Password + code'],
    [['pwd'], 'Password'],
  ] as const)('%j', (amr, expected) => {
    expect(signInMethodLabel(amr)).toBe(expected);
  });
});

describe('destinationOf', () => {
  const portal = 'https://sso.acme.test';
  it('names the app of a handshake, an app host, the command line, and nothing for portal pages', () => {
    expect(destinationOf('https://sso.acme.test/handshake?app=wiki&rd=x&state=y', portal)).toBe('wiki');
    expect(destinationOf('https://payroll.acme.test/salaries', portal)).toBe('payroll.acme.test');
    expect(destinationOf('/cli/authorize?client_id=gatehouse-cli', portal)).toBe('the Gatehouse command line');
    expect(destinationOf('/account', portal)).toBeUndefined();
  });
});

describe('the account page', () => {
  const key = (id: string): StoredCredential =>
    ({ id, userId: 'u', name: `key ${id}`, authenticatorClass: 'hwk', model: 'YubiKey 5', createdAt: 0, lastUsedAt: undefined, addedIp: '192.0.2.1' }) as unknown as StoredCredential;
  const session = { idHash: 'h', handle: 'x', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36', ip: '192.0.2.1', lastSeenAt: 0, amr: ['hwk', 'mfa'] } as unknown as SessionRow;
  const render = (keys: StoredCredential[], extra: { reenrollRequired?: boolean } = {}) =>
    accountPage(ctx, { email: 'pat@acme.test', name: 'Pat', keys, sessions: [session], currentHash: 'h', ...extra });

  it('gives the only key a disabled Remove button with a real title attribute, not escaped text', () => {
    const page = render([key('a')]);
    expect(page).toContain('<button class="danger" type="submit" disabled title="Your only key cannot be removed: add another key first">Remove</button>');
    expect(page).not.toContain('title=&quot;');
    expect(render([key('a'), key('b')])).not.toContain('disabled title');
  });

  it('speaks of browsers and sign-in methods in words, never raw codes', () => {
    const page = render([key('a')]);
    expect(page).toContain('Chrome on Linux');
    expect(page).toContain('Security key (YubiKey 5)');
    expect(page).toContain('>Security key<');
    expect(page).not.toMatch(/hwk mfa|swk mfa/);
  });

  it('tells a person flagged for re-enrolment, and only them', () => {
    expect(render([key('a')], { reenrollRequired: true })).toContain('Your security team asks you to set up your key again.');
    expect(render([key('a')])).not.toContain('set up your key again');
  });
});

describe('the sign-in page', () => {
  it('names its destination and shows a notice, escaped', () => {
    const page = signInPage(ctx, { returnTo: '/x', legacy: false, stepUp: false, destination: '<b>wiki</b>', notice: 'You are signed out.' });
    expect(page).toContain('Sign in to &lt;b&gt;wiki&lt;/b&gt;');
    expect(page).toContain('You are signed out.');
  });
});
