import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, get, listen, startFront } from './test-support/proxy-test-harness.js';

/**
 * The upstream pool against a scripted raw-TCP upstream: each connection it accepts is numbered and
 * answers every request it reads with the next reply from `script(connection, request)`.
 */
async function scriptedUpstream(script: (connection: number, request: number, socket: net.Socket) => string | null) {
  let connections = 0;
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    let served = 0;
    let pending = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) !== -1) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        requests.push(request);
        const reply = script(connection, ++served, socket);
        if (reply !== null) socket.write(reply);
      }
    });
  });
  const port = await listen(server);
  return {
    port,
    requests,
    connections: () => connections,
    async close() {
      sockets.forEach((socket) => socket.destroy());
      await closeServer(server);
    },
  };
}

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

/** POST with a body through node's client (no agent: one connection per request). */
function post(port: number, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/submit', agent: false, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function front(port: number, options: { responseTimeoutMs?: number; idleTimeoutMs?: number } = {}) {
  const started = await startFront({ apps: [{ name: 'app', upstream: `http://127.0.0.1:${port}`, ...options }], renderError: (error) => `${error.status} ${error.code}` }, 'app');
  cleanups.push(() => started.close());
  return started;
}

describe('upstream pool: connection reuse', () => {
  it('carries sequential requests over one keep-alive connection', async () => {
    const upstream = await scriptedUpstream((_c, n) => ok(`reply ${n}`));
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port);
    for (let i = 1; i <= 3; i++) expect((await get(port, `/r${i}`)).body).toBe(`reply ${i}`);
    expect(upstream.connections()).toBe(1);
    expect(upstream.requests[0]).toMatch(/^GET \/r1 HTTP\/1\.1\r\n/);
  });

  it('retries a GET once on a new connection when the idle one was closed under it', async () => {
    // The first connection answers once, then hangs up on the next request without a byte.
    const upstream = await scriptedUpstream((connection, n, socket) => {
      if (connection === 1 && n === 2) {
        socket.destroy();
        return null;
      }
      return ok(`from connection ${connection}`);
    });
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port);
    expect((await get(port, '/a')).body).toBe('from connection 1');
    const second = await get(port, '/b');
    expect(second).toMatchObject({ status: 200, body: 'from connection 2' });
  });

  it('never retries a request with a body (RFC 9110 §9.2.2): the client gets a 502', async () => {
    const upstream = await scriptedUpstream((connection, n, socket) => {
      if (connection === 1 && n === 2) {
        socket.destroy();
        return null;
      }
      return ok('fine');
    });
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port);
    expect((await get(port, '/warm')).status).toBe(200);
    const answer = await post(port, 'transfer=100');
    expect(answer).toEqual({ status: 502, body: '502 upstream_unreachable' });
    expect(upstream.connections()).toBe(1);
  });

  it('closes a connection whose response carried bytes past its framing (response splitting)', async () => {
    const smuggled = ok('injected');
    const upstream = await scriptedUpstream((connection) => (connection === 1 ? ok('first') + smuggled : ok(`clean ${connection}`)));
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port);
    expect((await get(port, '/one')).body).toBe('first');
    // The extra response never reaches the next client: that request goes out on a new connection.
    expect((await get(port, '/two')).body).toBe('clean 2');
  });
});

describe('upstream pool: framing', () => {
  it('decodes a chunked body with extensions and trailers and re-frames it for the client', async () => {
    const upstream = await scriptedUpstream(() => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n');
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port);
    expect((await get(port, '/')).body).toBe('abcdefg');
    expect((await get(port, '/')).body).toBe('abcdefg');
    expect(upstream.connections()).toBe(1);
  });

  it('reads a body without framing until the upstream closes, and does not reuse that connection', async () => {
    const upstream = await scriptedUpstream((_c, _n, socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end');
      return null;
    });
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port);
    expect((await get(port, '/')).body).toBe('until the end');
    expect((await get(port, '/')).body).toBe('until the end');
    expect(upstream.connections()).toBe(2);
  });

  it('skips a 100 Continue before the final response', async () => {
    const upstream = await scriptedUpstream(() => `HTTP/1.1 100 Continue\r\n\r\n${ok('final')}`);
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port);
    expect((await get(port, '/')).body).toBe('final');
  });

  const invalid: [string, string][] = [
    ['Transfer-Encoding with Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n'],
    ['a bare LF in the head', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n'],
    ['a head over 64 KiB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`],
  ];
  for (const [name, reply] of invalid) {
    it(`answers 502 upstream_invalid_response to ${name}`, async () => {
      const upstream = await scriptedUpstream(() => reply);
      cleanups.push(() => upstream.close());
      const { port } = await front(upstream.port);
      expect(await get(port, '/')).toMatchObject({ status: 502, body: '502 upstream_invalid_response' });
    });
  }

  it('cuts the client connection when the chunked framing breaks after the head was relayed', async () => {
    const upstream = await scriptedUpstream(() => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nZZ\r\n');
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port);
    // A truncated body must not look complete: the client sees an aborted response, not a short 200.
    await expect(get(port, '/')).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
  });
});

describe('upstream pool: timeouts', () => {
  it('answers 504 when no response head arrives within response_timeout_ms', async () => {
    const upstream = await scriptedUpstream(() => null);
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port, { responseTimeoutMs: 150 });
    expect(await get(port, '/')).toMatchObject({ status: 504, body: '504 upstream_timeout' });
  });

  it('cuts a response whose body stalls longer than idle_timeout_ms', async () => {
    const upstream = await scriptedUpstream(() => 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part');
    cleanups.push(() => upstream.close());
    const { port } = await front(upstream.port, { idleTimeoutMs: 150 });
    await expect(get(port, '/')).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
  });
});
