/**
 * A WebSocket tunnel through the proxy is closed when its session is revoked, or its client address is
 * blocked through the change feed (`gatehouse ip block` from another process), not only refused at upgrade.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

let upstream: http.Server;
let fx: GatehouseFixture;

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  fx = await startFixture({
    extraYaml: `apps:
  - name: chat
    host: chat.acme.localhost
    upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}
    policies: [{ action: allow, include: [{ everyone: true }] }]
`,
  });
});
afterAll(async () => {
  await fx?.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

/** Signs `email` in, opens a WebSocket to the chat app with its app cookie, and checks it echoes. */
async function openChat(email: string): Promise<WebSocket> {
  const browser = new TestBrowser(fx.port);
  await enrolThroughPortal(fx, browser, email);
  await browser.follow(`http://chat.acme.localhost:${fx.port}/`);
  const cookie = browser.cookies('chat.acme.localhost').get('gatehouse_app_session')!;
  const socket = new WebSocket(`ws://127.0.0.1:${fx.port}/ws`, { headers: { host: `chat.acme.localhost:${fx.port}`, cookie: `gatehouse_app_session=${cookie}` } });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  expect(await echoed(socket, 'ping')).toBe('ping');
  return socket;
}

function echoed(socket: WebSocket, text: string): Promise<string> {
  const echo = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
  socket.send(text);
  return echo;
}

async function pollUntil(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

it('revoking the session closes its open tunnel on this instance', async () => {
  const socket = await openChat('ws@acme.test');
  expect(fx.gatehouse.access.gateway.openTunnels).toBe(1);

  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const user = await fx.gatehouse.core.identity.users.require('ws@acme.test');
  await fx.gatehouse.core.identity.revokeUserSessions(user.id, { actor: 'test', reason: 'incident' });
  await closed;
  expect(fx.gatehouse.access.gateway.openTunnels).toBe(0);
});

it('blocking the client address through the change feed closes its open tunnel, and only that address', async () => {
  const socket = await openChat('blocked@acme.test');
  expect(fx.gatehouse.access.gateway.openTunnels).toBe(1);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // Another process writes each block with its feed row; this instance learns of it from the feed only.
  const gatehouse = (args: string[]) => runGatehouse(args, { config: fx.configPath });
  expect((await gatehouse(['ip', 'block', '198.51.100.7', '--reason', 'another address'])).code).toBe(0);
  await pollUntil(() => fx.gatehouse.access.ipBlocks.list().some((block) => block.cidr === '198.51.100.7/32'));
  // Another address's block is applied, and this tunnel is judged again and stays.
  expect(await echoed(socket, 'still here')).toBe('still here');
  expect(fx.gatehouse.access.gateway.openTunnels).toBe(1);
  try {
    expect((await gatehouse(['ip', 'block', '127.0.0.1', '--reason', 'incident'])).code).toBe(0);
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the tunnel stayed open after the block')), 10_000))]);
    expect(fx.gatehouse.access.gateway.openTunnels).toBe(0);
  } finally {
    socket.terminate();
    await gatehouse(['ip', 'unblock', '127.0.0.1']);
    await gatehouse(['ip', 'unblock', '198.51.100.7']);
  }
});
