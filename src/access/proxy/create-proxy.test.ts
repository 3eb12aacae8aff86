import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../lib/errors.js';
import type { ErrorPageContext } from './proxy-error.js';
import { closeServer, get, listen, rawRequest, startFront, startRecordingUpstream } from './test-support/proxy-test-harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(options: { trustedProxies?: string[]; strippedCookies?: string[]; respond?: Parameters<typeof startRecordingUpstream>[0] } = {}) {
  const upstream = await startRecordingUpstream(options.respond);
  cleanups.push(() => closeServer(upstream.server));
  const front = await startFront(
    { apps: [{ name: 'wiki', upstream: upstream.url }], trustedProxies: options.trustedProxies, strippedCookies: options.strippedCookies },
    'wiki',
    { assertion: 'header.payload.signature', requestId: 'req-42' },
  );
  cleanups.push(() => front.close());
  return { upstream, front };
}

function fieldValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!);
  return values;
}

describe('createProxy: request headers towards the upstream', () => {
  it('adds the assertion and request id, and drops every client Gatehouse-* field', async () => {
    const { upstream, front } = await setup();
    const response = await get(front.port, '/page?q=1', {
      'Gatehouse-Jwt-Assertion': 'forged.token.here',
      'gatehouse-user': 'admin@example.com',
      'GATEHOUSE-REQUEST-ID': 'forged-id',
    });
    expect(response.status).toBe(200);
    expect(response.body).toBe('upstream ok');
    const seen = upstream.seen[0]!;
    expect(seen.url).toBe('/page?q=1');
    expect(fieldValues(seen.rawHeaders, 'gatehouse-jwt-assertion')).toEqual(['header.payload.signature']);
    expect(fieldValues(seen.rawHeaders, 'gatehouse-request-id')).toEqual(['req-42']);
    expect(fieldValues(seen.rawHeaders, 'gatehouse-user')).toEqual([]);
  });

  it('removes hop-by-hop fields and the fields named in Connection (RFC 9110 §7.6.1)', async () => {
    const { upstream, front } = await setup();
    // Raw bytes: Node's own client refuses to send some of these fields.
    const response = await rawRequest(
      front.port,
      [
        'GET / HTTP/1.1',
        'Host: wiki.example.com',
        'Connection: keep-alive, X-Secret-Hop',
        'X-Secret-Hop: should not pass',
        'Keep-Alive: timeout=5',
        'TE: trailers',
        'Trailer: X-Checksum',
        'Upgrade: h2c',
        'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA',
        'Proxy-Authorization: Basic Zm9vOmJhcg==',
        'Proxy-Connection: keep-alive',
        'X-End-To-End: kept',
        'Connection: close',
        '',
        '',
      ].join('\r\n'),
    );
    expect(response.status).toBe(200);
    const seen = upstream.seen[0]!;
    for (const name of ['x-secret-hop', 'keep-alive', 'te', 'trailer', 'upgrade', 'http2-settings', 'proxy-authorization', 'proxy-connection']) {
      expect(fieldValues(seen.rawHeaders, name), name).toEqual([]);
    }
    // The client's `close` is about its own connection: the upstream connection stays persistent
    // (HTTP/1.1's default, RFC 9112 §9.3), so no Connection field goes upstream at all.
    expect(fieldValues(seen.rawHeaders, 'connection')).toEqual([]);
    expect(fieldValues(seen.rawHeaders, 'x-end-to-end')).toEqual(['kept']);
    expect(fieldValues(seen.rawHeaders, 'via')).toEqual(['1.1 gatehouse']);
    expect(seen.headers.host).toBe(`127.0.0.1:${upstream.port}`);
  });

  it('removes hop-by-hop fields from the response and keeps repeated fields', async () => {
    const { front } = await setup({
      respond: (_req, res) => {
        res.writeHead(200, [
          'Connection', 'keep-alive, X-Upstream-Hop',
          'X-Upstream-Hop', 'internal',
          'Keep-Alive', 'timeout=9',
          'Proxy-Authenticate', 'Basic realm="upstream"',
          'Trailer', 'X-Checksum',
          'Set-Cookie', 'a=1',
          'Set-Cookie', 'b=2',
          'Content-Type', 'text/plain',
        ]);
        res.end('body');
      },
    });
    const response = await get(front.port, '/');
    expect(response.body).toBe('body');
    expect(response.headers['x-upstream-hop']).toBeUndefined();
    expect(response.headers['proxy-authenticate']).toBeUndefined();
    expect(response.headers.trailer).toBeUndefined();
    expect(response.headers['keep-alive']).not.toBe('timeout=9');
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('keeps the Gatehouse session cookie away from the app', async () => {
    const { upstream, front } = await setup({ strippedCookies: ['gatehouse_session'] });
    await get(front.port, '/', { Cookie: 'theme=dark; gatehouse_session=secret-session-id; app=1' });
    expect(upstream.seen[0]!.headers.cookie).toBe('theme=dark; app=1');
    await get(front.port, '/', { Cookie: 'gatehouse_session=secret-session-id' });
    expect(upstream.seen[1]!.headers.cookie).toBeUndefined();
  });

  it('never lets the app set the Gatehouse session cookie (session fixation through a parent Domain)', async () => {
    const { front } = await setup({
      strippedCookies: ['gatehouse_session'],
      respond: (_req, res) => {
        res.setHeader('set-cookie', ['gatehouse_session=attacker; Domain=example.com; Path=/', 'theme=dark']);
        res.end('ok');
      },
    });
    const response = await get(front.port, '/');
    expect(response.headers['set-cookie']).toEqual(['theme=dark']);
  });
});

describe('createProxy: X-Forwarded-*', () => {
  const forged = { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example', 'X-Real-IP': '6.6.6.6', Forwarded: 'for=6.6.6.6' };

  it('replaces forged values when the peer is not a trusted proxy', async () => {
    const { upstream, front } = await setup({ trustedProxies: ['10.0.0.0/8'] });
    await get(front.port, '/', { Host: 'wiki.example.com', ...forged });
    const seen = upstream.seen[0]!;
    expect(fieldValues(seen.rawHeaders, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(fieldValues(seen.rawHeaders, 'x-forwarded-proto')).toEqual(['http']);
    expect(fieldValues(seen.rawHeaders, 'x-forwarded-host')).toEqual(['wiki.example.com']);
    expect(fieldValues(seen.rawHeaders, 'x-real-ip')).toEqual([]);
    expect(fieldValues(seen.rawHeaders, 'forwarded')).toEqual([]);
  });

  it('extends the chain and keeps proto and host when the peer is a trusted proxy', async () => {
    const { upstream, front } = await setup({ trustedProxies: ['127.0.0.0/8'] });
    await get(front.port, '/', { Host: 'wiki.example.com', ...forged });
    const seen = upstream.seen[0]!;
    expect(fieldValues(seen.rawHeaders, 'x-forwarded-for')).toEqual(['6.6.6.6, 127.0.0.1']);
    expect(fieldValues(seen.rawHeaders, 'x-forwarded-proto')).toEqual(['https']);
    expect(fieldValues(seen.rawHeaders, 'x-forwarded-host')).toEqual(['evil.example']);
    expect(fieldValues(seen.rawHeaders, 'x-real-ip')).toEqual(['6.6.6.6']);
  });

  it('from a trusted proxy that appends, forwards the host and proto that proxy wrote, not the client’s', async () => {
    const { upstream, front } = await setup({ trustedProxies: ['127.0.0.0/8'] });
    // The client's own line first, the proxy's appended after it (a comma-joined value reads the same).
    await get(front.port, '/', { Host: 'internal', 'X-Forwarded-Host': ['evil.example', 'wiki.example.com'], 'X-Forwarded-Proto': ['https', 'http'] });
    await get(front.port, '/', { Host: 'internal', 'X-Forwarded-Host': 'evil.example, wiki.example.com' });
    expect(upstream.seen.map((seen) => fieldValues(seen.rawHeaders, 'x-forwarded-host'))).toEqual([['wiki.example.com'], ['wiki.example.com']]);
    expect(fieldValues(upstream.seen[0]!.rawHeaders, 'x-forwarded-proto')).toEqual(['http']);
  });

  it('without any trusted proxy, never believes the client', async () => {
    const { upstream, front } = await setup();
    await get(front.port, '/', forged);
    expect(fieldValues(upstream.seen[0]!.rawHeaders, 'x-forwarded-for')).toEqual(['127.0.0.1']);
  });
});

describe('createProxy: bodies', () => {
  it('forwards a chunked request body re-framed, and a Content-Length body as is', async () => {
    const { upstream, front } = await setup({ respond: (_req, res, body) => res.end(`got ${body.length}`) });
    const post = (headers: Record<string, string>, chunks: string[]) =>
      new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: front.port, method: 'POST', path: '/upload', headers, agent: false }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
    expect(await post({ 'Transfer-Encoding': 'chunked' }, ['hello ', 'world'])).toBe('got 11');
    expect(upstream.seen[0]!.body.toString()).toBe('hello world');
    expect(await post({ 'Content-Length': '5' }, ['abcde'])).toBe('got 5');
    expect(upstream.seen[1]!.headers['content-length']).toBe('5');
  });
});

describe('createProxy: upstream failures', () => {
  const renderError = (error: GatehouseError, context: { requestId: string | undefined }) => `<p>custom ${error.status} ${error.code} ${context.requestId}</p>`;

  it('answers 502 with the injected page when the upstream refuses connections', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const front = await startFront({ apps: [{ name: 'down', upstream: `http://127.0.0.1:${port}` }], renderError }, 'down', { requestId: 'r-502' });
    cleanups.push(() => front.close());
    const response = await get(front.port, '/');
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).toBe('<p>custom 502 upstream_unreachable r-502</p>');
  });

  it('hands the renderer the person the gateway signed in, on a request and on a WebSocket upgrade', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const seen: ErrorPageContext[] = [];
    const recording = (error: GatehouseError, context: ErrorPageContext) => {
      seen.push(context);
      return `<p>${error.status} ${context.signedInAs ?? 'nobody'}</p>`;
    };
    const front = await startFront({ apps: [{ name: 'down', upstream: `http://127.0.0.1:${port}` }], renderError: recording }, 'down', { requestId: 'r-who', signedInAs: 'pat@acme.test' });
    cleanups.push(() => front.close());
    const response = await get(front.port, '/');
    expect(response.status).toBe(502);
    expect(response.body).toBe('<p>502 pat@acme.test</p>');
    const upgrade = await rawRequest(front.port, 'GET /live HTTP/1.1\r\nHost: down\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    expect(upgrade.status).toBe(502);
    expect(upgrade.text).toContain('<p>502 pat@acme.test</p>');
    expect(seen).toEqual([
      { requestId: 'r-who', app: 'down', signedInAs: 'pat@acme.test' },
      { requestId: 'r-who', app: 'down', signedInAs: 'pat@acme.test' },
    ]);
  });

  it('frames nothing and runs nothing on its own error pages, for a request and an upgrade; the caller may widen the CSP for its markup', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const plain = await startFront({ apps: [{ name: 'down', upstream: `http://127.0.0.1:${port}` }] }, 'down', { requestId: 'r-frame' });
    cleanups.push(() => plain.close());
    const response = await get(plain.port, '/');
    expect(response.status).toBe(502);
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    const upgrade = await rawRequest(plain.port, 'GET /live HTTP/1.1\r\nHost: down\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    expect(upgrade.status).toBe(502);
    expect(upgrade.text.toLowerCase()).toContain('x-frame-options: deny');
    expect(upgrade.text.toLowerCase()).toContain("content-security-policy: default-src 'none'");
    const styled = await startFront({ apps: [{ name: 'down', upstream: `http://127.0.0.1:${port}` }], errorPageHeaders: { 'content-security-policy': "style-src 'sha256-x'; frame-ancestors 'none'" } }, 'down', {});
    cleanups.push(() => styled.close());
    const widened = await get(styled.port, '/');
    expect(widened.headers['content-security-policy']).toBe("style-src 'sha256-x'; frame-ancestors 'none'");
    expect(widened.headers['x-frame-options']).toBe('DENY');
  });

  it('names nobody when the gateway forwarded without a session (a bypass app, a service token)', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const front = await startFront({ apps: [{ name: 'down', upstream: `http://127.0.0.1:${port}` }], renderError: (error, context) => `<p>${error.status} ${context.signedInAs ?? 'nobody'}</p>` }, 'down', { requestId: 'r-anon' });
    cleanups.push(() => front.close());
    expect((await get(front.port, '/')).body).toBe('<p>502 nobody</p>');
  });

  it('answers 504 when the upstream does not answer within responseTimeoutMs', async () => {
    const stalled = http.createServer(() => undefined);
    const port = await listen(stalled);
    cleanups.push(() => closeServer(stalled));
    const front = await startFront(
      { apps: [{ name: 'slow', upstream: `http://127.0.0.1:${port}`, responseTimeoutMs: 300 }], renderError },
      'slow',
      { requestId: 'r-504' },
    );
    cleanups.push(() => front.close());
    const response = await get(front.port, '/');
    expect(response.status).toBe(504);
    expect(response.body).toBe('<p>custom 504 upstream_timeout r-504</p>');
  });

  it('answers 502 when the upstream sends a malformed response', async () => {
    const sockets = new Set<net.Socket>();
    const garbage = net.createServer((socket) => {
      sockets.add(socket);
      socket.end('NOT HTTP AT ALL\r\n\r\n');
    });
    cleanups.push(async () => sockets.forEach((socket) => socket.destroy()));
    const port = await listen(garbage);
    cleanups.unshift(() => closeServer(garbage));
    const front = await startFront({ apps: [{ name: 'bad', upstream: `http://127.0.0.1:${port}` }], renderError }, 'bad', { requestId: 'r-bad' });
    cleanups.push(() => front.close());
    const response = await get(front.port, '/');
    expect(response.status).toBe(502);
    expect(response.body).toBe('<p>custom 502 upstream_invalid_response r-bad</p>');
  });

  it('answers 404 for an app it does not know (a routing bug in the caller, not a crash)', async () => {
    const upstream = await startRecordingUpstream();
    cleanups.push(() => closeServer(upstream.server));
    const front = await startFront({ apps: [{ name: 'wiki', upstream: upstream.url }], renderError }, 'nope', { requestId: 'r-404' });
    cleanups.push(() => front.close());
    const response = await get(front.port, '/');
    expect(response.status).toBe(404);
    expect(response.body).toBe('<p>custom 404 unknown_app r-404</p>');
    expect(upstream.seen).toHaveLength(0);
  });

  it('refuses invalid app configuration at start-up, naming the field', async () => {
    const { createProxy } = await import('./create-proxy.js');
    expect(() => createProxy({ apps: [{ name: 'x', upstream: 'ftp://example.com' }] })).toThrow(/apps\[0\]\.upstream/);
    expect(() => createProxy({ apps: [{ name: 'x', upstream: 'http://a', connectTimeoutMs: -1 }] })).toThrow(/apps\[0\]\.connect_timeout_ms/);
    expect(() =>
      createProxy({ apps: [{ name: 'x', upstream: 'http://a' }, { name: 'x', upstream: 'http://b' }] }),
    ).toThrow(/duplicate app/);
    expect(() => createProxy({ apps: [], trustedProxies: ['10.0.0.0/33'] })).toThrow(/trusted_proxies\[0\]/);
  });
});

describe('createProxy: exchanges cut short', () => {
  it('answers 502 (not a reset) to a request with a body when the upstream is down', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await closeServer(probe);
    const front = await startFront({ apps: [{ name: 'down', upstream: `http://127.0.0.1:${port}` }] }, 'down');
    cleanups.push(() => front.close());
    const response = await rawRequest(front.port, 'POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
    expect(response.status).toBe(502);
  });

  it('aborts the upstream exchange when the client goes away mid-download', async () => {
    let upstreamClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    const endless = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      const timer = setInterval(() => res.write(chunk), 5);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed();
      });
    });
    const port = await listen(endless);
    cleanups.push(() => closeServer(endless));
    const front = await startFront({ apps: [{ name: 'stream', upstream: `http://127.0.0.1:${port}` }] }, 'stream');
    cleanups.push(() => front.close());
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: front.port, path: '/', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error('no data')), 5000);
    });
    // Resolves only if the upstream saw its response closed: no leaked upstream stream.
    await closed;
  });

  it('relays the final response after a 103 Early Hints and serves HEAD without a body', async () => {
    const { front } = await setup({
      respond: (req, res) => {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end(req.method === 'HEAD' ? undefined : 'final');
      },
    });
    expect((await get(front.port, '/')).body).toBe('final');
    const head = await rawRequest(front.port, 'HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(head.status).toBe(200);
    expect(head.text.endsWith('\r\n\r\n')).toBe(true);
  });
});

describe('createProxy: reload', () => {
  it('setApps swaps upstreams atomically; an app removed from config is no longer served', async () => {
    const first = await startRecordingUpstream((_req, res) => res.end('first'));
    const second = await startRecordingUpstream((_req, res) => res.end('second'));
    cleanups.push(() => closeServer(first.server), () => closeServer(second.server));
    const front = await startFront({ apps: [{ name: 'wiki', upstream: first.url }] }, 'wiki');
    cleanups.push(() => front.close());
    expect((await get(front.port, '/')).body).toBe('first');
    await front.proxy.setApps([{ name: 'wiki', upstream: second.url }]);
    expect((await get(front.port, '/')).body).toBe('second');
    await front.proxy.setApps([{ name: 'other', upstream: second.url }]);
    expect((await get(front.port, '/')).status).toBe(404);
    // A bad reload is refused and the running snapshot stays.
    await expect(front.proxy.setApps([{ name: 'other', upstream: 'not a url' }])).rejects.toThrow(/apps\[0\]\.upstream/);
  });
});
