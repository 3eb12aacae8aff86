/**
 * WebSocket upgrades with a service token: let in under a token policy with the token's JWT and without
 * its headers, refused with one code otherwise, and closed when the token changes (revocation through the
 * change feed), since a tunnel is authorised only at the upgrade.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeJwt } from 'jose';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let upstream: http.Server;
let fx: GatehouseFixture;
const upgrades: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (socket, req) => {
    upgrades.push(req.headers);
    socket.on('message', (data) => socket.send(data));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  fx = await startFixture({
    extraYaml: `apps:
  - name: chat
    host: chat.acme.localhost
    upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}
    policies: [{ name: bots, action: allow, include: [{ service_token: [chat-bot] }] }]
`,
  });
});
afterAll(async () => {
  await fx?.close();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

const connect = (headers: Record<string, string>) => new WebSocket(`ws://127.0.0.1:${fx.port}/ws`, { headers: { host: `chat.acme.localhost:${fx.port}`, ...headers } });

it('opens a tunnel for a valid token, with its JWT and without its headers, and closes it when the token is revoked', async () => {
  const issued = await fx.gatehouse.serviceTokens.create({ name: 'chat-bot', owner: 'bots@acme.test', apps: ['chat'], actor: 'admin@acme.test' });
  const socket = connect({ 'Gatehouse-Client-Id': issued.clientId, 'Gatehouse-Client-Secret': issued.secret });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  // The feed row of the token's creation may arrive after the upgrade: it must not close the tunnel.
  await fx.gatehouse.feed.pollNow();
  const echo = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
  socket.send('ping');
  expect(await echo).toBe('ping');
  const seen = upgrades.at(-1)!;
  expect(seen['gatehouse-client-id']).toBeUndefined();
  expect(seen['gatehouse-client-secret']).toBeUndefined();
  expect(decodeJwt(seen['gatehouse-jwt-assertion'] as string)).toMatchObject({ sub: 'service-token:chat-bot', gatehouse_token: { name: 'chat-bot', client_id: issued.clientId } });
  expect(fx.gatehouse.access.gateway.openTunnels).toBe(1);

  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await fx.gatehouse.serviceTokens.revoke('chat-bot', { actor: 'admin@acme.test', reason: 'leaked' });
  await fx.gatehouse.feed.pollNow();
  await closed;
  expect(fx.gatehouse.access.gateway.openTunnels).toBe(0);
});

it('refuses an upgrade with a bad or revoked token with one code, and audits the cause', async () => {
  const refusal = (headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = connect(headers);
      socket.once('open', () => reject(new Error('upgrade should have been refused')));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += String(chunk)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      socket.once('error', () => {});
    });
  const before = upgrades.length;
  expect(await refusal({ 'Gatehouse-Client-Id': `gh-svc-${'Q'.repeat(22)}`, 'Gatehouse-Client-Secret': `gh-secret-${'Q'.repeat(43)}` })).toEqual({ status: 403, body: 'service_token_refused' });
  const other = await fx.gatehouse.serviceTokens.create({ name: 'not-a-bot', owner: 'bots@acme.test', apps: ['chat'], actor: 'admin@acme.test' });
  expect(await refusal({ 'Gatehouse-Client-Id': other.clientId, 'Gatehouse-Client-Secret': other.secret })).toEqual({ status: 403, body: 'service_token_refused' });
  expect(upgrades.length).toBe(before);
  const codes = (await fx.gatehouse.core.audit.list({ type: 'service_token.refused' })).map((e) => e.code);
  expect(codes).toContain('service_token_unknown');
  const [denied] = await fx.gatehouse.core.audit.list({ type: 'access.denied' });
  expect(denied).toMatchObject({ actor: 'service_token:not-a-bot', code: 'no_policy_matched' });
});
