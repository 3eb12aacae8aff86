/**
 * The Node proxies Gatehouse is compared with, each the idiomatic minimal setup of its library:
 *   node-undici   node:http + undici Pool.stream (no header hygiene at all)
 *   fastify       fastify + @fastify/reply-from
 *   http-proxy    node:http + http-proxy with a keep-alive agent
 * argv: <kind> <upstream origin>. Prints `{"port":N}` once listening; serves until SIGTERM.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';
import httpProxy from 'http-proxy';
import { Pool } from 'undici';

const [kind, upstream] = [process.argv[2], process.argv[3]!];
const ready = (port: number): void => void process.stdout.write(`${JSON.stringify({ port })}\n`);

function badGateway(res: ServerResponse): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(502);
  res.end();
}

if (kind === 'node-undici') {
  const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const { connection: _connection, 'keep-alive': _keepAlive, ...headers } = req.headers;
    pool.stream(
      { path: req.url!, method: req.method as 'GET', headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req, opaque: res },
      ({ statusCode, headers: responseHeaders, opaque }) => {
        const out = opaque as ServerResponse;
        const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...kept } = responseHeaders;
        out.writeHead(statusCode, kept as http.OutgoingHttpHeaders);
        return out;
      },
      (error) => {
        if (error) badGateway(res);
      },
    );
  });
  server.listen(0, '127.0.0.1', () => ready((server.address() as AddressInfo).port));
} else if (kind === 'fastify') {
  const app = Fastify({ logger: false });
  await app.register(replyFrom, { base: upstream, undici: { connections: 128, pipelining: 1 } });
  app.all('/*', (request, reply) => reply.from(request.url));
  app.all('/', (request, reply) => reply.from(request.url));
  await app.listen({ port: 0, host: '127.0.0.1' });
  ready((app.server.address() as AddressInfo).port);
} else if (kind === 'http-proxy') {
  const proxy = httpProxy.createProxyServer({ target: upstream, agent: new http.Agent({ keepAlive: true, maxSockets: 128 }) });
  proxy.on('error', (_error, _req, res) => badGateway(res as ServerResponse));
  const server = http.createServer((req, res) => proxy.web(req, res));
  server.listen(0, '127.0.0.1', () => ready((server.address() as AddressInfo).port));
} else {
  throw new Error(`unknown baseline proxy kind ${JSON.stringify(kind)}; use node-undici, fastify or http-proxy`);
}
process.on('SIGTERM', () => process.exit(0));
