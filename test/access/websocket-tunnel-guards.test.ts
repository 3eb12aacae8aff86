/**
 * WebSocket upgrades through the proxy, over real sockets against a full instance.
 *
 * How each piece is attacked, and the refusal each test asserts:
 * - Origin. Cross-site WebSocket hijacking: a page on another site, or on a sibling app of the same
 *   site (SameSite=Lax does not separate `wiki.acme` from `chat.acme`), opens `ws://chat...` and the
 *   browser attaches the chat cookie. A hostile `Origin: null` (sandboxed iframe) or the app host on
 *   another scheme is the same attack. Refused with 403 `websocket_origin_refused` before the
 *   session is looked at or the upstream is contacted.
 * - Cookies. A stolen Gatehouse cookie in the upgrade would reach the upstream (which could replay
 *   it), and an upstream (or a relay in front of it) could set a Gatehouse cookie on its 101 or its
 *   refusal to fix a session. Gatehouse cookies are stripped from the upstream handshake and dropped
 *   from the upstream's answers; refusals by Gatehouse carry no Set-Cookie and echo nothing.
 * - Lifetime. A tunnel is authorised once at the upgrade: a stolen cookie used to open a tunnel must
 *   not keep it open past the session's absolute timeout, nor past a policy reload that no longer
 *   allows it (the same closing path as a revocation).
 * - Unauthenticated or malformed upgrades answer 401 `websocket_sign_in_required` / 400 with the
 *   reason, never a tunnel.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { loadConfigFile } from '../../src/config/index.js';
import { ManualClock } from '../../src/lib/clock.js';
import { fixtureConfigYaml, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

let upstream: http.Server;
let upstreamPort: number;
const upgrades: http.IncomingHttpHeaders[] = [];
let fx: GatehouseFixture;
const clock = new ManualClock(Date.UTC(2026, 10, 22, 10, 0, 0));
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function appsYaml(chatGroup: string): string {
  return `apps:
  - name: chat
    host: chat.acme.localhost
    upstream: http://127.0.0.1:${upstreamPort}
    policies: [{ action: allow, include: [{ group: [${chatGroup}] }] }]
  - name: wiki
    host: wiki.acme.localhost
    upstream: http://127.0.0.1:${upstreamPort}
    policies: [{ action: allow, include: [{ group: [staff] }] }]
`;
}

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ noServer: true });
  // The upstream tries to set Gatehouse cookies on its 101 and on a refusal: neither may reach the browser.
  wss.on('headers', (headers) => headers.push('Set-Cookie: gatehouse_session=fixated; Path=/', 'Set-Cookie: __Host-gatehouse_app_session=fixated; Path=/; Secure', 'Set-Cookie: theme=dark; Path=/'));
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  upstream.on('upgrade', (req, socket, head) => {
    upgrades.push(req.headers);
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nSet-Cookie: gatehouse_app_session=fixated; Path=/\r\nSet-Cookie: theme=light\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  fx = await startFixture({ clock, extraYaml: appsYaml('staff') });
});
afterAll(async () => {
  await fx?.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

const CHAT = 'chat.acme.localhost';
const chatOrigin = () => `http://${CHAT}:${fx.port}`;

/** An upgrade on a raw socket: the response head as sent, and the socket (open when it became a tunnel). */
async function rawUpgrade(path: string, headers: Record<string, string>, host = `${CHAT}:${fx.port}`): Promise<{ head: string; body: string; socket: net.Socket }> {
  const socket = net.connect(fx.port, '127.0.0.1');
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${KEY}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  let received = '';
  return new Promise((resolve, reject) => {
    const done = () => {
      const end = received.indexOf('\r\n\r\n');
      socket.removeAllListeners('data');
      resolve({ head: received.slice(0, end), body: received.slice(end + 4), socket });
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end));
      if (received.startsWith('HTTP/1.1 101') || !length || received.length >= end + 4 + Number(length[1])) done();
    });
    socket.once('error', reject);
    socket.once('end', () => (received.includes('\r\n\r\n') ? done() : reject(new Error(`closed early: ${received}`))));
  });
}

const setCookiesOf = (head: string) => head.split('\r\n').filter((line) => /^set-cookie:/i.test(line));
const closed = (socket: net.Socket) => (socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve())));

async function chatCookie(email: string): Promise<string> {
  const browser = new TestBrowser(fx.port);
  await enrolThroughPortal(fx, browser, email, ['staff']);
  await browser.follow(`${chatOrigin()}/`);
  const cookie = browser.cookies(CHAT).get('gatehouse_app_session');
  if (!cookie) throw new Error('no chat cookie');
  return cookie;
}

describe('Origin of an upgrade', () => {
  let cookie: string;
  beforeAll(async () => {
    cookie = await chatCookie('origin-ws@acme.test');
  });

  it.each([
    ['a cross-site page', 'http://evil.localhost'],
    ['a sibling app of the same site', 'http://wiki.acme.localhost:PORT'],
    ['the app host on another scheme', 'https://chat.acme.localhost:PORT'],
    ['the app host on another port', 'http://chat.acme.localhost:1'],
    ['a sandboxed frame (null)', 'null'],
  ])('refuses %s with 403 websocket_origin_refused, before the upstream is contacted', async (_name, origin) => {
    const before = upgrades.length;
    const { head, body, socket } = await rawUpgrade('/ws', { origin: origin.replace('PORT', String(fx.port)), cookie: `gatehouse_app_session=${cookie}` });
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    expect(body).toBe('websocket_origin_refused');
    expect(setCookiesOf(head)).toEqual([]);
    expect(head).not.toContain(cookie);
    expect(upgrades.length).toBe(before);
    socket.destroy();
  });

  it('accepts its own origin, and a client that sends none (not a browser)', async () => {
    for (const headers of [{ origin: chatOrigin() }, {}] as Record<string, string>[]) {
      const { head, socket } = await rawUpgrade('/ws', { ...headers, cookie: `gatehouse_app_session=${cookie}` });
      expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
      socket.destroy();
    }
  });
});

describe('Gatehouse cookies on the upgrade path', () => {
  it('strips every Gatehouse cookie from the upstream handshake and drops the upstream Set-Cookie for them on the 101', async () => {
    const cookie = await chatCookie('strip-ws@acme.test');
    const { head, socket } = await rawUpgrade('/ws', {
      origin: chatOrigin(),
      cookie: `gatehouse_app_session=${cookie}; gatehouse_session=portal; gatehouse_csrf=c; gatehouse_handshake=s; __Host-gatehouse_session=h; theme=dark`,
    });
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
    expect(upgrades.at(-1)!.cookie).toBe('theme=dark');
    expect(setCookiesOf(head)).toEqual(['Set-Cookie: theme=dark; Path=/']);
    socket.destroy();
  });

  it("drops the upstream's Set-Cookie for a Gatehouse cookie on a relayed refusal", async () => {
    const cookie = await chatCookie('refuse-ws@acme.test');
    const { head, socket } = await rawUpgrade('/refuse', { origin: chatOrigin(), cookie: `gatehouse_app_session=${cookie}` });
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    expect(setCookiesOf(head)).toEqual(['Set-Cookie: theme=light']);
    expect(upgrades.at(-1)!.cookie).toBeUndefined();
    socket.destroy();
  });

  it('refuses an upgrade without a session with 401 websocket_sign_in_required, echoing no cookie', async () => {
    const { head, body, socket } = await rawUpgrade('/ws', { origin: chatOrigin(), cookie: 'gatehouse_app_session=stolen-or-forged-value; gatehouse_session=portal' });
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(body).toBe('websocket_sign_in_required');
    expect(setCookiesOf(head)).toEqual([]);
    expect(head + body).not.toContain('stolen-or-forged-value');
    socket.destroy();
  });

  it('refuses a non-WebSocket upgrade with 400 and the reason', async () => {
    const socket = net.connect(fx.port, '127.0.0.1');
    socket.write(`GET / HTTP/1.1\r\nHost: ${CHAT}:${fx.port}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`);
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.once('close', () => resolve(text));
    });
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(reply.endsWith('upgrade_not_websocket')).toBe(true);
  });
});

describe('open tunnels end with their authorisation', () => {
  it('a config reload that no longer allows the user closes that app tunnel, and leaves the others open', async () => {
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'reload-ws@acme.test', ['staff']);
    await browser.follow(`${chatOrigin()}/`);
    await browser.follow(`http://wiki.acme.localhost:${fx.port}/`);
    const chat = await rawUpgrade('/ws', { origin: chatOrigin(), cookie: `gatehouse_app_session=${browser.cookies(CHAT).get('gatehouse_app_session')!}` });
    const wikiOrigin = `http://wiki.acme.localhost:${fx.port}`;
    const wiki = await rawUpgrade('/ws', { origin: wikiOrigin, cookie: `gatehouse_app_session=${browser.cookies('wiki.acme.localhost').get('gatehouse_app_session')!}` }, `wiki.acme.localhost:${fx.port}`);
    expect([chat.head, wiki.head].map((h) => h.split('\r\n')[0])).toEqual(['HTTP/1.1 101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols']);
    const open = fx.gatehouse.access.gateway.openTunnels;

    writeFileSync(fx.configPath, fixtureConfigYaml({ clock, port: fx.port, dir: fx.dir, extraYaml: appsYaml('ops') }));
    await fx.gatehouse.access.reload(loadConfigFile(fx.configPath).config);
    await closed(chat.socket);
    expect(wiki.socket.destroyed).toBe(false);
    expect(fx.gatehouse.access.gateway.openTunnels).toBe(open - 1);

    writeFileSync(fx.configPath, fixtureConfigYaml({ clock, port: fx.port, dir: fx.dir, extraYaml: appsYaml('staff') }));
    await fx.gatehouse.access.reload(loadConfigFile(fx.configPath).config);
    wiki.socket.destroy();
  });

  it("a tunnel is closed when its session passes the absolute timeout, though the socket stays busy", async () => {
    const cookie = await chatCookie('expiry-ws@acme.test');
    const { head, socket } = await rawUpgrade('/ws', { origin: chatOrigin(), cookie: `gatehouse_app_session=${cookie}` });
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
    clock.advance(23 * 3_600_000);
    expect(fx.gatehouse.access.gateway.closeExpiredTunnels()).toBe(0);
    expect(socket.destroyed).toBe(false);
    clock.advance(3_600_000);
    expect(fx.gatehouse.access.gateway.closeExpiredTunnels()).toBeGreaterThanOrEqual(1);
    await closed(socket);
  });
});
