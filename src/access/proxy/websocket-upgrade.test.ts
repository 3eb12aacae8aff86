import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { closeServer, listen, rawRequest, startFront } from './test-support/proxy-test-harness.js';

describe('WebSocket upgrades through the proxy', () => {
  let upstream: http.Server;
  let wss: WebSocketServer;
  let front: Awaited<ReturnType<typeof startFront>>;
  const handshakes: http.IncomingMessage[] = [];
  const plainRequests: string[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      plainRequests.push(`${req.method} ${req.url}`);
      res.end('plain');
    });
    wss = new WebSocketServer({
      server: upstream,
      verifyClient: (info: { req: http.IncomingMessage }, done: (ok: boolean, code?: number) => void) =>
        info.req.url === '/forbidden' ? done(false, 403) : done(true),
    });
    wss.on('connection', (socket, req) => {
      handshakes.push(req);
      socket.on('message', (data, binary) => socket.send(binary ? data : `echo:${data.toString()}`, { binary }));
    });
    const port = await listen(upstream);
    front = await startFront({ apps: [{ name: 'chat', upstream: `http://127.0.0.1:${port}` }] }, 'chat', {
      assertion: 'signed.identity.jwt',
      requestId: 'ws-1',
    });
  });
  afterAll(async () => {
    await front.close();
    for (const client of wss.clients) client.terminate();
    wss.close();
    await closeServer(upstream);
  });

  it('echoes text and binary frames, and the upstream handshake carries our assertion only', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${front.port}/socket?room=1`, {
      headers: { 'Gatehouse-Jwt-Assertion': 'forged', 'X-Forwarded-For': '6.6.6.6' },
    });
    const messages: (string | Buffer)[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('open', () => {
        client.send('hello');
        client.send(Buffer.from([1, 2, 3]), { binary: true });
      });
      client.on('message', (data: Buffer, binary: boolean) => {
        messages.push(binary ? Buffer.from(data) : data.toString());
        if (messages.length === 2) resolve();
      });
      client.on('error', reject);
    });
    client.close();
    expect(messages).toEqual(['echo:hello', Buffer.from([1, 2, 3])]);
    const handshake = handshakes.at(-1)!;
    expect(handshake.url).toBe('/socket?room=1');
    expect(handshake.headers['gatehouse-jwt-assertion']).toBe('signed.identity.jwt');
    expect(handshake.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('relays an upstream refusal and never opens a tunnel', async () => {
    const key = Buffer.alloc(16, 7).toString('base64');
    const before = plainRequests.length;
    // A second request written right behind the handshake: if the proxy started piping without a 101,
    // it would reach the upstream unchecked (WebSocket smuggling).
    const response = await rawRequest(
      front.port,
      `GET /forbidden HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n` +
        'GET /internal-admin HTTP/1.1\r\nHost: chat\r\n\r\n',
    );
    expect(response.status).toBe(403);
    expect(response.text).not.toContain('plain');
    expect(plainRequests.slice(before)).toEqual([]);
  });

  const key = Buffer.alloc(16, 9).toString('base64');
  const refused: Record<string, string> = {
    'h2c upgrade': 'GET / HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n',
    'POST upgrade': `POST / HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nContent-Length: 0\r\n\r\n`,
    'bad key': 'GET / HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n',
    'old version': `GET / HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
    'body on upgrade': `GET / HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nContent-Length: 27\r\n\r\nGET /admin HTTP/1.1\r\n\r\n...`,
  };
  for (const [name, bytes] of Object.entries(refused)) {
    it(`refuses ${name} with 400 and contacts no upstream`, async () => {
      const handshakesBefore = handshakes.length;
      const plainBefore = plainRequests.length;
      const response = await rawRequest(front.port, bytes);
      expect(response.status).toBe(400);
      expect(handshakes.length).toBe(handshakesBefore);
      expect(plainRequests.length).toBe(plainBefore);
    });
  }

  it('answers 502 when the upstream is down', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const down = await startFront({ apps: [{ name: 'gone', upstream: `http://127.0.0.1:${port}` }] }, 'gone');
    try {
      const response = await rawRequest(
        down.port,
        `GET / HTTP/1.1\r\nHost: gone\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
      );
      expect(response.status).toBe(502);
      expect(response.head.toLowerCase()).toContain('connection: close');
    } finally {
      await down.close();
    }
  });

  it('answers 504 when the upstream accepts but never answers the handshake', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    const port = await listen(silent);
    const slow = await startFront({ apps: [{ name: 'slow', upstream: `http://127.0.0.1:${port}`, responseTimeoutMs: 200 }] }, 'slow');
    try {
      const response = await rawRequest(
        slow.port,
        `GET / HTTP/1.1\r\nHost: slow\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
      );
      expect(response.status).toBe(504);
    } finally {
      await slow.close();
      for (const socket of sockets) socket.destroy();
      await closeServer(silent);
    }
  });
});
