import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatehouseError } from '../../lib/errors.js';
import { retryAfterOf } from './proxy-error.js';
import { rejectSmuggling } from './reject-smuggling.js';
import { UpstreamFailure } from './upstream-failure.js';

/** What the upgrade path needs to know about the app's upstream. */
export interface UpgradeTarget {
  name: string;
  url: URL;
  pathPrefix: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
}

const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Only WebSocket upgrades (RFC 6455 §4.1) are tunnelled. Other upgrades are refused: h2c in
 * particular lets a client open an HTTP/2 connection to the upstream that bypasses per-request checks
 * ("h2c smuggling"). A request body on an upgrade would be read as tunnel bytes, so it is refused too.
 */
export function rejectUpgrade(req: IncomingMessage): string | null {
  const smuggling = rejectSmuggling(req);
  if (smuggling !== null) return smuggling;
  if (req.method !== 'GET') return 'upgrade_method_not_get';
  const headers = req.headers;
  if (headers.upgrade?.trim().toLowerCase() !== 'websocket') return 'upgrade_not_websocket';
  if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers.connection ?? '')) return 'upgrade_without_connection_upgrade';
  if (headers['sec-websocket-version'] !== '13') return 'unsupported_websocket_version';
  if (!WEBSOCKET_KEY.test(headers['sec-websocket-key'] ?? '')) return 'invalid_websocket_key';
  if (headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0') return 'upgrade_with_body';
  return null;
}

export interface UpgradeCallbacks {
  /** Upstream unreachable or too slow: render the 502/504 page onto the raw socket. */
  failed(error: unknown): void;
  opened(upstream: Socket): void;
  closed(upstream: Socket): void;
}

/**
 * Opens a fresh connection to the upstream, replays the handshake there, and only if the upstream
 * answers 101 starts piping raw bytes both ways. Any other answer is relayed and both connections
 * close: a proxy that starts a tunnel without a 101 lets the client speak raw HTTP to the upstream
 * past the proxy's checks (WebSocket smuggling).
 */
export function tunnelWebSocket(
  client: Duplex,
  head: Buffer,
  target: UpgradeTarget,
  /** Origin-form target, already canonical (see upstream-target). */
  path: string,
  headers: string[],
  callbacks: UpgradeCallbacks,
  /** Gatehouse's cookie names: an upstream's Set-Cookie for one is dropped on the 101 and refusal paths. */
  protectedCookies: ReadonlySet<string> | null = null,
): void {
  // An app must not set (fixate or overwrite) a Gatehouse cookie through a handshake answer either.
  const setsProtectedCookie = (lower: string, value: string): boolean =>
    protectedCookies !== null && lower === 'set-cookie' && protectedCookies.has(value.slice(0, value.indexOf('=')).trim());
  const secure = target.url.protocol === 'https:';
  const request = (secure ? https : http).request({
    host: target.url.hostname.replace(/^\[|\]$/g, ''),
    port: target.url.port || (secure ? 443 : 80),
    method: 'GET',
    path: target.pathPrefix + path,
    headers,
    agent: false,
    setHost: false,
  });
  let settled = false;
  const fail = (error: unknown): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    request.destroy();
    callbacks.failed(error);
  };
  let timer = setTimeout(() => fail(new UpstreamFailure('UPSTREAM_CONNECT_TIMEOUT', 'connect timeout')), target.connectTimeoutMs);
  request.once('socket', (socket: Socket) => {
    const connected = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new UpstreamFailure('UPSTREAM_RESPONSE_TIMEOUT', 'no handshake answer')), target.responseTimeoutMs);
    };
    if (socket.connecting) socket.once(secure ? 'secureConnect' : 'connect', connected);
    else connected();
  });
  request.once('error', fail);
  client.once('error', () => fail(new Error('client socket error')));
  client.once('close', () => {
    if (!settled) {
      settled = true;
      clearTimeout(timer);
      request.destroy();
    }
  });

  request.once('response', (response: IncomingMessage) => {
    if (settled) return response.destroy();
    settled = true;
    clearTimeout(timer);
    // Not a 101: relay the refusal (e.g. 403, 426) and close; the connection never becomes a tunnel.
    const lines = [`HTTP/1.1 ${response.statusCode} ${response.statusMessage ?? ''}`];
    for (let i = 0; i < response.rawHeaders.length; i += 2) {
      const lower = response.rawHeaders[i]!.toLowerCase();
      if (lower === 'connection' || lower === 'transfer-encoding' || lower === 'keep-alive' || lower === 'upgrade') continue;
      if (setsProtectedCookie(lower, response.rawHeaders[i + 1]!)) continue;
      lines.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
    }
    lines.push('connection: close', '', '');
    client.write(lines.join('\r\n'));
    response.pipe(client);
    response.once('error', () => client.destroy());
  });

  request.once('upgrade', (response: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
    if (settled) return upstream.destroy();
    settled = true;
    clearTimeout(timer);
    if (response.headers.upgrade?.trim().toLowerCase() !== 'websocket') {
      upstream.destroy();
      callbacks.failed(new UpstreamFailure('UPSTREAM_INVALID_RESPONSE', 'upstream switched to a protocol other than websocket'));
      return;
    }
    const lines = ['HTTP/1.1 101 Switching Protocols', 'connection: Upgrade', 'upgrade: websocket'];
    for (let i = 0; i < response.rawHeaders.length; i += 2) {
      const lower = response.rawHeaders[i]!.toLowerCase();
      if (lower === 'connection' || lower === 'upgrade' || lower === 'keep-alive' || lower === 'transfer-encoding') continue;
      if (setsProtectedCookie(lower, response.rawHeaders[i + 1]!)) continue;
      lines.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
    }
    lines.push('', '');
    callbacks.opened(upstream);
    upstream.setNoDelay(true);
    (client as Socket).setNoDelay?.(true);
    upstream.setTimeout(0);
    client.write(lines.join('\r\n'));
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (head.length > 0) upstream.write(head);
    const teardown = (): void => {
      upstream.destroy();
      client.destroy();
      callbacks.closed(upstream);
    };
    upstream.once('error', teardown).once('close', teardown);
    client.once('error', teardown).once('close', teardown);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  request.end();
}

/** Writes a complete HTTP/1.1 error response onto a raw socket (no ServerResponse exists on an upgrade). */
export function writeRawErrorResponse(socket: Duplex, error: GatehouseError, body: string, extraHeaders: Readonly<Record<string, string>> = {}): void {
  if (socket.destroyed || !socket.writable) return void socket.destroy();
  const retryAfter = retryAfterOf(error);
  const head = [
    `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status] ?? ''}`,
    'content-type: text/html; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    ...Object.entries(extraHeaders).map(([name, value]) => `${name}: ${value}`),
    ...(retryAfter === undefined ? [] : [`retry-after: ${retryAfter}`]),
    'connection: close',
    '',
    '',
  ].join('\r\n');
  socket.end(head + body);
}

