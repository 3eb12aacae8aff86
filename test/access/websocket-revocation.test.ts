/** A WebSocket tunnel through the proxy is closed when its session is revoked (not only refused at upgrade). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
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

it('revoking the session closes its open tunnel on this instance', async () => {
  const browser = new TestBrowser(fx.port);
  await enrolThroughPortal(fx, browser, 'ws@acme.test');
  await browser.follow(`http://chat.acme.localhost:${fx.port}/`);
  const cookie = browser.cookies('chat.acme.localhost').get('gatehouse_app_session')!;
  const socket = new WebSocket(`ws://127.0.0.1:${fx.port}/ws`, { headers: { host: `chat.acme.localhost:${fx.port}`, cookie: `gatehouse_app_session=${cookie}` } });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const echo = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
  socket.send('ping');
  expect(await echo).toBe('ping');
  expect(fx.gatehouse.access.gateway.openTunnels).toBe(1);

  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const user = await fx.gatehouse.core.identity.users.require('ws@acme.test');
  await fx.gatehouse.core.identity.revokeUserSessions(user.id, { actor: 'test', reason: 'incident' });
  await closed;
  expect(fx.gatehouse.access.gateway.openTunnels).toBe(0);
});
