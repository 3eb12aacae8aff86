/**
 * A small real app behind the access proxy, for the browser tests: it serves an HTML page that names
 * the app, records every request it receives (the identity JWT is in the headers), streams generated
 * downloads, counts uploads without keeping them, and echoes WebSocket messages. It listens on
 * 127.0.0.1 only: the one way in from a browser is through Gatehouse.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** When the request head arrived (ms): an identity assertion is judged as of then, not after a long body. */
  receivedAt: number;
}

export interface UploadCount {
  bytes: number;
  /** Bytes that differ from the `i % 251` pattern the tests send. */
  mismatches: number;
}

export interface UpstreamApp {
  /** `http://127.0.0.1:<port>`, the `upstream:` of the app in the config. */
  readonly url: string;
  readonly seen: SeenRequest[];
  /** Handshake requests of WebSocket connections the upstream accepted. */
  readonly sockets: SeenRequest[];
  readonly uploads: UploadCount[];
  /** The last request for exactly `url` (path and query), if one arrived. */
  requestFor(url: string): SeenRequest | undefined;
  close(): Promise<void>;
}

/** The byte at `offset` of every generated download and expected upload: catches loss, reordering, padding. */
export const patternByte = (offset: number) => offset % 251;

const CHUNK = 64 * 1024;
/** The pattern repeats every 251 bytes: any chunk is a slice of this one read-only buffer. */
const PATTERN = Buffer.from(Array.from({ length: CHUNK + 251 }, (_, i) => patternByte(i)));

/** Writes `total` pattern bytes, waiting for `drain` so the upstream never buffers more than a chunk or two. */
function streamPattern(res: http.ServerResponse, total: number): void {
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const size = Math.min(CHUNK, total - sent);
      const start = sent % 251;
      sent += size;
      if (!res.write(PATTERN.subarray(start, start + size))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
  pump();
}

function countUpload(req: http.IncomingMessage, res: http.ServerResponse, uploads: UploadCount[]): void {
  const count: UploadCount = { bytes: 0, mismatches: 0 };
  req.on('data', (data: Buffer) => {
    for (let i = 0; i < data.length; i++) if (data[i] !== patternByte(count.bytes + i)) count.mismatches++;
    count.bytes += data.length;
  });
  req.on('end', () => {
    uploads.push(count);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(count));
  });
}

export async function startUpstreamApp(name: string): Promise<UpstreamApp> {
  const seen: SeenRequest[] = [];
  const sockets: SeenRequest[] = [];
  const uploads: UploadCount[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    seen.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, receivedAt: Date.now() });
    if (req.method === 'GET' && url.pathname === '/download') return streamPattern(res, Number(url.searchParams.get('bytes') ?? 0));
    if (req.method === 'POST' && url.pathname === '/upload') return countUpload(req, res, uploads);
    req.resume();
    const body = `<!doctype html><html><head><title>${name}</title><link rel="icon" href="data:,"></head><body><h1 id="app">${name}</h1><p id="path">${url.pathname}</p></body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `${name} echo: ${String(data)}`));
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://upstream.invalid').pathname !== '/ws') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, receivedAt: Date.now() });
      wss.emit('connection', ws, req);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    sockets,
    uploads,
    requestFor: (url) => seen.findLast((request) => request.url === url),
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
