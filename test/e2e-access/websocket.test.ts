/**
 * In real Chromium: a WebSocket through the access proxy. The app's own page (served by the
 * upstream through Gatehouse) opens `ws://<app host>/ws`; the browser sends the host-only app cookie
 * on the upgrade, the policy allows it and the upstream echoes, with the identity JWT on the
 * handshake. Without the app cookie (or with a cookie of another app) the upgrade is refused before
 * any byte reaches the upstream; after the session is revoked, new upgrades are refused and the
 * socket that was already open is closed.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { auditMark, enrolInBrowser } from '../e2e/portal-steps.js';
import { haveChromium } from '../peers.js';
import { KeyedPage, launchChromium } from '../support/browser.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { APP_SESSION_COOKIE, ASSERTION_HEADER, openInBrowser, verifyAssertion, waitForAudit } from './access-steps.js';
import { startUpstreamApp, type UpstreamApp } from './upstream-app.js';

const ECHO_IN_PAGE = `new Promise((resolve, reject) => {
  const socket = new WebSocket('ws://' + location.host + '/ws');
  const timer = setTimeout(() => reject(new Error('no echo in 10 s')), 10000);
  socket.onopen = () => socket.send('hello from the page');
  socket.onmessage = (event) => { clearTimeout(timer); socket.close(); resolve(String(event.data)); };
  socket.onerror = () => { clearTimeout(timer); reject(new Error('websocket error')); };
})`;

/** Opens a socket from the page and leaves it open; `window.__socketClosed` settles when it closes. */
const KEEP_SOCKET_OPEN = `new Promise((resolve, reject) => {
  const socket = new WebSocket('ws://' + location.host + '/ws');
  window.__socket = socket;
  window.__socketClosed = new Promise((closed) => socket.addEventListener('close', () => closed(true)));
  socket.onopen = () => socket.send('still here');
  socket.onmessage = () => resolve(true);
  socket.onerror = () => reject(new Error('websocket error'));
  setTimeout(() => reject(new Error('no echo in 10 s')), 10000);
})`;

/** A node client connects to 127.0.0.1 naming the app host (Node cannot resolve *.localhost). */
function nodeSocket(port: number, host: string, cookie?: string): Promise<{ opened: true; echo: string } | { opened: false; status: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host, ...(cookie ? { cookie } : {}) }, handshakeTimeout: 10_000 });
    socket.on('open', () => socket.send('hello from node'));
    socket.on('message', (data) => {
      socket.close();
      resolve({ opened: true, echo: String(data) });
    });
    socket.on('unexpected-response', (_req, res) => {
      res.resume();
      socket.terminate();
      resolve({ opened: false, status: res.statusCode ?? 0 });
    });
    socket.on('error', reject);
  });
}

describe.runIf(haveChromium())('WebSocket through the access proxy in Chromium', { timeout: 60_000 }, () => {
  let fixture: GatehouseFixture;
  let browser: Browser;
  let chat: UpstreamApp;
  let wiki: UpstreamApp;
  let tab: KeyedPage;
  let userId: string;
  const chatHost = () => `chat.acme.localhost:${fixture.port}`;

  beforeAll(async () => {
    [chat, wiki] = await Promise.all([startUpstreamApp('chat'), startUpstreamApp('wiki')]);
    fixture = await startFixture({
      domain: 'acme.localhost',
      extraYaml: `apps:
  - name: chat
    host: chat.acme.localhost
    upstream: ${chat.url}
    policies:
      - { name: staff, action: allow, include: [{ group: [staff] }] }
  - name: wiki
    host: wiki.acme.localhost
    upstream: ${wiki.url}
    policies:
      - { name: staff, action: allow, include: [{ group: [staff] }] }
`,
    });
    browser = await launchChromium();
    ({ tab } = await KeyedPage.open(browser));
    ({ userId } = await enrolInBrowser(fixture, tab.page, 'wes@acme.test', 'Wes key'));
  });

  afterAll(async () => {
    await tab?.close();
    await browser?.close();
    await fixture?.close();
    await Promise.all([chat?.close(), wiki?.close()]);
  });

  it('the app page opens a WebSocket on its own host and gets the echo; the upstream sees the identity', async () => {
    expect(await openInBrowser(tab.page, `http://${chatHost()}/room/ops`)).toEqual({ status: 200, url: `http://${chatHost()}/room/ops` });
    const echo = await tab.page.evaluate(ECHO_IN_PAGE);
    expect(echo).toBe('chat echo: hello from the page');
    expect(chat.sockets).toHaveLength(1);
    const handshake = chat.sockets[0]!;
    expect(handshake.headers.cookie ?? '').not.toMatch(/gatehouse_/);
    const claims = await verifyAssertion(fixture, handshake.headers[ASSERTION_HEADER], 'chat');
    expect(claims).toMatchObject({ sub: userId, email: 'wes@acme.test', amr: ['swk', 'mfa'] });
  });

  it('refuses an anonymous WebSocket (401) and never opens one to the upstream', async () => {
    const count = chat.sockets.length;
    expect(await nodeSocket(fixture.port, chatHost())).toEqual({ opened: false, status: 401 });
    expect(await nodeSocket(fixture.port, chatHost(), `${APP_SESSION_COOKIE}=${'x'.repeat(43)}`)).toEqual({ opened: false, status: 401 });
    expect(chat.sockets.length).toBe(count);
  });

  it('refuses the cookie of another app, and accepts its own from a node client (the cookie decides, not the client)', async () => {
    expect(await openInBrowser(tab.page, `http://wiki.acme.localhost:${fixture.port}/`)).toMatchObject({ status: 200 });
    const wikiCookie = await tab.cookie(`http://wiki.acme.localhost:${fixture.port}/`, APP_SESSION_COOKIE);
    const chatCookie = await tab.cookie(`http://${chatHost()}/`, APP_SESSION_COOKIE);
    expect(wikiCookie).toMatch(/.{20,}/);
    const count = chat.sockets.length;
    expect(await nodeSocket(fixture.port, chatHost(), `${APP_SESSION_COOKIE}=${wikiCookie}`)).toEqual({ opened: false, status: 401 });
    expect(chat.sockets.length).toBe(count);
    expect(await nodeSocket(fixture.port, chatHost(), `${APP_SESSION_COOKIE}=${chatCookie}`)).toEqual({ opened: true, echo: 'chat echo: hello from node' });
  });

  it('a revoked session cannot open a new WebSocket (401, audited), even with the app cookie it held', async () => {
    const chatCookie = await tab.cookie(`http://${chatHost()}/`, APP_SESSION_COOKIE);
    // A socket opened from the chat page before the revocation, kept for the next test.
    expect(await openInBrowser(tab.page, `http://${chatHost()}/room/ops`)).toMatchObject({ status: 200 });
    await tab.page.evaluate(KEEP_SOCKET_OPEN);
    await fixture.gatehouse.core.identity.revokeUserSessions(userId, { actor: 'test', reason: 'incident drill' });
    const mark = await auditMark(fixture);
    const count = chat.sockets.length;
    expect(await nodeSocket(fixture.port, chatHost(), `${APP_SESSION_COOKIE}=${chatCookie}`)).toEqual({ opened: false, status: 401 });
    expect(chat.sockets.length).toBe(count);
    const [denied] = await waitForAudit(fixture, 'access.denied', mark, (e) => e.detail.app === 'chat');
    expect(denied).toMatchObject({ outcome: 'failure', code: 'sign_in' });
  });

  // Revocation must reach tunnels already open, not only new upgrades: an attacker holding an
  // open WebSocket (or an SSH tunnel over one) must lose it when the incident kills the session.
  it('closes a WebSocket that was open when its session was revoked', async () => {
    const closed = await tab.page.evaluate(`Promise.race([
      window.__socketClosed,
      new Promise((resolve) => setTimeout(() => resolve(false), 5000)),
    ])`);
    expect(closed).toBe(true);
    expect(await tab.page.evaluate('window.__socket.readyState')).toBe(3); // CLOSED: nothing more can be sent
  });
});
