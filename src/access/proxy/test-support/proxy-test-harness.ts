/**
 * Real sockets for the proxy tests: an in-process upstream that records what reached it, and a
 * front server that hands every request to the proxy, as the access gateway does in production. Test-only.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { createProxy, type AccessProxy, type CreateProxyOptions, type ForwardOptions } from '../create-proxy.js';

export interface SeenRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: IncomingMessage['headers'];
  body: Buffer;
  completed: boolean;
}

export async function listen(server: Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: Server | net.Server): Promise<void> {
  (server as Server).closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** An upstream that records each request (and whether its body arrived whole) and answers via `respond`. */
export async function startRecordingUpstream(
  respond: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void = (_req, res) => res.end('upstream ok'),
): Promise<{ server: Server; port: number; seen: SeenRequest[]; url: string }> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const record: SeenRequest = { method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, headers: req.headers, body: Buffer.alloc(0), completed: false };
    seen.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => {
      record.body = Buffer.concat(chunks);
      record.completed = true;
      respond(req, res, record.body);
    });
  });
  const port = await listen(server);
  return { server, port, seen, url: `http://127.0.0.1:${port}` };
}

/** The front listener: every request and upgrade goes to the proxy for `app`, as after a successful policy check. */
export async function startFront(
  options: CreateProxyOptions,
  app: string,
  forwardOptions: ForwardOptions = { assertion: 'signed.jwt.value', requestId: 'req-1' },
): Promise<{ server: Server; port: number; proxy: AccessProxy; close(): Promise<void> }> {
  const proxy = createProxy(options);
  const server = http.createServer((req, res) => proxy.forward(req, res, app, forwardOptions));
  server.on('upgrade', (req, socket, head) => proxy.upgrade(req, socket, head, app, forwardOptions));
  const port = await listen(server);
  return {
    server,
    port,
    proxy,
    async close() {
      await proxy.close();
      await closeServer(server);
    },
  };
}

export interface RawExchange {
  status: number;
  head: string;
  text: string;
}

/** Sends bytes exactly as given and reads until the server closes or goes quiet. */
export function rawRequest(port: number, bytes: string, quietMs = 400): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from(bytes, 'latin1')));
    const chunks: Buffer[] = [];
    let timer = setTimeout(() => socket.end(), quietMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      clearTimeout(timer);
      timer = setTimeout(() => socket.end(), quietMs);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.split('\r\n\r\n')[0] ?? '';
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), head, text });
    });
  });
}

/** A GET through node's client: status, headers and body text. */
export function get(port: number, path: string, headers: Record<string, string | string[]> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
