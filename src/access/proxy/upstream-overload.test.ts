import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProxyAppOptions } from './proxy-app-options.js';
import { closeServer, listen, rawRequest, startFront } from './test-support/proxy-test-harness.js';

/**
 * One endpoint that never answers must not take the whole app down: the queue for upstream
 * connections is bounded, a queued request's deadline runs from its arrival, and one client cannot
 * hold more than its share of the pool. Real sockets; time is an injected clock, so no test waits
 * for a timeout or asserts a duration.
 */

/** An upstream with a path that hangs, one that answers, and a count of the connections it accepted. */
async function startUpstream() {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const seen: string[] = [];
  const held: ServerResponse[] = [];
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url!);
    if (req.url === '/ok') return void res.end('ok');
    if (req.url === '/partial') {
      res.writeHead(200, { 'content-length': '100' });
      return void res.write('part');
    }
    if (req.url === '/reset') return void req.socket.destroy();
    if (req.url === '/held') return void held.push(res);
    // '/hang': never answers.
  });
  server.on('connection', (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: net.Socket) => {
    seen.push(req.url!);
    socket.on('error', () => undefined);
    if (req.url === '/ws') socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    // '/ws-hang': the handshake is never answered.
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    held,
    connections: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request left running: `answer` settles with the response, or null once it was aborted. */
function send(port: number, path: string, headers: Record<string, string> = {}) {
  const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false });
  const answer = new Promise<Answer | null>((resolve) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve(null));
    });
    req.on('error', () => resolve(null));
  });
  req.end();
  return { req, answer };
}

/** Polls a condition the sockets will make true; the bound only stops a broken test from hanging. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never happened: ${what}`);
}

const WEBSOCKET_HANDSHAKE = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(app: Omit<ProxyAppOptions, 'name' | 'upstream'>, options: { trustedProxies?: string[] } = {}) {
  const upstream = await startUpstream();
  cleanups.push(() => upstream.close());
  let clock = 1_000_000;
  const front = await startFront(
    {
      apps: [{ name: 'app', upstream: upstream.url, connectTimeoutMs: 40, ...app }],
      trustedProxies: options.trustedProxies,
      renderError: (error) => `${error.status} ${error.code}`,
      now: () => clock,
    },
    'app',
  );
  cleanups.push(() => front.close());
  const load = () => front.proxy.load('app')!;
  return {
    upstream,
    front,
    load,
    advance(ms: number) {
      clock += ms;
    },
    /** Every slot and queue entry given back: the app is as it was before the traffic. */
    async drained() {
      await until(() => load().inFlight === 0 && load().clients === 0 && load().queued === 0, 'counters back to zero');
    },
  };
}

describe('upstream overload: bounded queue', () => {
  it('answers 503 upstream_queue_full with Retry-After once the pool and its queue are full', async () => {
    const { upstream, front, load, drained } = await setup({ maxConnections: 2, maxQueuedRequests: 1 });
    const hanging = [send(front.port, '/hang'), send(front.port, '/hang')];
    await until(() => upstream.seen.length === 2, 'two requests hanging upstream');
    hanging.push(send(front.port, '/hang'));
    await until(() => load().queued === 1, 'one request queued');

    const refused = await send(front.port, '/ok').answer;
    expect(refused).toMatchObject({ status: 503, body: '503 upstream_queue_full' });
    expect(refused!.headers['retry-after']).toBe('1');
    expect(load().refused.upstream_queue_full).toBe(1);
    // The refused request never reached the upstream.
    expect(upstream.seen).toEqual(['/hang', '/hang']);
    expect(upstream.connections()).toBe(2);

    // A client giving up mid-queue leaves the queue, and its request never goes upstream.
    hanging[2]!.req.destroy();
    await until(() => load().queued === 0 && load().inFlight === 2, 'queued request gone');
    expect(upstream.seen).toEqual(['/hang', '/hang']);
    // Clients giving up mid-exchange give everything back too.
    for (const { req } of hanging) req.destroy();
    await drained();
    await until(() => load().connections === 0, 'abandoned connections closed');
  });

  it('with max_queued_requests 0 refuses at once instead of queueing', async () => {
    const { upstream, front, load, drained } = await setup({ maxConnections: 1, maxQueuedRequests: 0 });
    const hanging = send(front.port, '/hang');
    await until(() => upstream.seen.length === 1, 'one request hanging upstream');
    expect(await send(front.port, '/ok').answer).toMatchObject({ status: 503, body: '503 upstream_queue_full' });
    expect(load().queued).toBe(0);
    hanging.req.destroy();
    await drained();
  });
});

describe('upstream overload: the deadline counts from arrival', () => {
  it('answers 504 upstream_queue_timeout to a request whose deadline passed in the queue, without opening a connection for it', async () => {
    const { upstream, front, load, advance, drained } = await setup({ maxConnections: 1, responseTimeoutMs: 1_000 });
    const first = send(front.port, '/hang');
    await until(() => upstream.seen.length === 1, 'first request upstream');
    const queued = send(front.port, '/ok');
    await until(() => load().queued === 1, 'second request queued');

    advance(1_000);
    expect(await queued.answer).toMatchObject({ status: 504, body: '504 upstream_queue_timeout' });
    expect(await first.answer).toMatchObject({ status: 504, body: '504 upstream_timeout' });
    // Only the first request ever reached the upstream, over the only connection ever opened.
    expect(upstream.seen).toEqual(['/hang']);
    expect(upstream.connections()).toBe(1);
    expect(load().refused.upstream_queue_timeout).toBe(1);
    await drained();
  });

  it('gives a request that waited in the queue only what is left of its response timeout', async () => {
    const { upstream, front, load, advance, drained } = await setup({ maxConnections: 1, responseTimeoutMs: 1_000 });
    const first = send(front.port, '/held');
    await until(() => upstream.held.length === 1, 'first request held upstream');
    const second = send(front.port, '/hang');
    await until(() => load().queued === 1, 'second request queued');

    // 600 ms in the queue, then the connection comes free and the second request goes upstream.
    advance(600);
    upstream.held[0]!.end('done');
    expect(await first.answer).toMatchObject({ status: 200, body: 'done' });
    await until(() => upstream.seen.length === 2, 'second request upstream');

    // 400 ms more is 1000 ms since arrival: timed out, although it was sent upstream only 400 ms ago.
    advance(400);
    expect(await second.answer).toMatchObject({ status: 504, body: '504 upstream_timeout' });
    await drained();
  });
});

describe('upstream overload: requests in flight per client', () => {
  it('answers 429 client_concurrency_limit with Retry-After, and keeps the pool open for other clients', async () => {
    const { upstream, front, load, drained } = await setup({ maxConnections: 4, maxQueuedRequests: 0, maxRequestsPerClient: 3 }, { trustedProxies: ['127.0.0.1'] });
    const greedy = { 'x-forwarded-for': '203.0.113.7' };
    const hanging = [send(front.port, '/hang', greedy), send(front.port, '/hang', greedy), send(front.port, '/hang', greedy)];
    await until(() => upstream.seen.length === 3, 'three requests hanging upstream');

    const refused = await send(front.port, '/hang', greedy).answer;
    expect(refused).toMatchObject({ status: 429, body: '429 client_concurrency_limit' });
    expect(refused!.headers['retry-after']).toBe('5');
    expect(load().refused.client_concurrency_limit).toBe(1);
    expect(upstream.seen).toHaveLength(3);

    // Another client (behind the same trusted proxy) is still served on the path that works.
    expect(await send(front.port, '/ok', { 'x-forwarded-for': '198.51.100.20' }).answer).toMatchObject({ status: 200, body: 'ok' });
    expect(load()).toMatchObject({ inFlight: 3, clients: 1 });

    for (const { req } of hanging) req.destroy();
    await drained();
    // The slots are back: the same client is served again.
    expect(await send(front.port, '/ok', greedy).answer).toMatchObject({ status: 200, body: 'ok' });
  });

  it('counts an untrusted peer by its own address, whatever X-Forwarded-For it sends', async () => {
    const { upstream, front, drained } = await setup({ maxRequestsPerClient: 2 });
    const hanging = [send(front.port, '/hang', { 'x-forwarded-for': '192.0.2.1' }), send(front.port, '/hang', { 'x-forwarded-for': '192.0.2.2' })];
    await until(() => upstream.seen.length === 2, 'two requests hanging upstream');
    expect(await send(front.port, '/ok', { 'x-forwarded-for': '192.0.2.3' }).answer).toMatchObject({ status: 429, body: '429 client_concurrency_limit' });
    for (const { req } of hanging) req.destroy();
    await drained();
  });

  it('gives every slot back on success, upstream error, client abort mid-response and body timeout', async () => {
    const { front, load, advance, drained } = await setup({ maxRequestsPerClient: 2, idleTimeoutMs: 1_000 });
    for (let i = 0; i < 5; i++) expect(await send(front.port, '/ok').answer).toMatchObject({ status: 200 });
    for (let i = 0; i < 3; i++) expect(await send(front.port, '/reset').answer).toMatchObject({ status: 502, body: '502 upstream_unreachable' });
    expect(load().inFlight).toBe(0);

    // The client hangs up after the head, while the upstream is still sending.
    const abandoned = http.request({ host: '127.0.0.1', port: front.port, path: '/partial', agent: false });
    abandoned.on('error', () => undefined);
    abandoned.on('response', (res) => res.destroy());
    abandoned.end();
    // The upstream stops sending mid-body: the idle timeout cuts it. The clock moves only once the
    // last body byte the upstream sends has reached the client, i.e. once the body deadline is final.
    const stalled = http.request({ host: '127.0.0.1', port: front.port, path: '/partial', agent: false });
    const cut = new Promise<string>((resolve) => {
      stalled.on('error', () => resolve('cut'));
      stalled.on('response', (res) => {
        res.on('error', () => resolve('cut'));
        res.on('end', () => resolve('ended'));
        res.once('data', () => advance(1_000));
      });
    });
    stalled.end();
    expect(await cut).toBe('cut');
    await drained();
    await until(() => load().connections <= 1, 'broken connections closed');
  });
});

describe('upstream overload: WebSocket handshakes', () => {
  it('counts a pending handshake against the client, not an open tunnel', async () => {
    const { upstream, front, load, drained } = await setup({ maxRequestsPerClient: 1 });

    // An open tunnel holds no slot: the client can still make requests.
    const tunnel = net.connect(front.port, '127.0.0.1', () => tunnel.write(WEBSOCKET_HANDSHAKE('/ws')));
    tunnel.on('error', () => undefined);
    const opened = new Promise<string>((resolve) => tunnel.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    expect(await opened).toMatch(/^HTTP\/1\.1 101 /);
    expect(load().inFlight).toBe(0);
    expect(await send(front.port, '/ok').answer).toMatchObject({ status: 200 });

    // A handshake the upstream never answers holds the client's only slot...
    const pending = net.connect(front.port, '127.0.0.1', () => pending.write(WEBSOCKET_HANDSHAKE('/ws-hang')));
    pending.on('error', () => undefined);
    await until(() => upstream.seen.includes('/ws-hang'), 'handshake upstream');
    expect(load().inFlight).toBe(1);
    expect(await send(front.port, '/ok').answer).toMatchObject({ status: 429, body: '429 client_concurrency_limit' });
    const refused = await rawRequest(front.port, WEBSOCKET_HANDSHAKE('/ws'), 100);
    expect(refused.status).toBe(429);
    expect(refused.head).toMatch(/\r\nretry-after: 5\r\n/i);

    // ...until the client gives up on it, even with a mere FIN (the server keeps the socket half-open).
    pending.end();
    await drained();
    await until(() => pending.closed, 'handshake socket closed by the proxy');
    tunnel.destroy();
  });
});
