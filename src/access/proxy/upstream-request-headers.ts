import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ASSERTION_HEADER } from './identity-assertion.js';
import { buildForwardedHeaders, type ForwardedHeaders } from './forwarded-headers.js';
import type { TrustedProxies } from './trusted-proxies.js';

export const REQUEST_ID_HEADER = 'Gatehouse-Request-Id';

/**
 * RFC 9110 §7.6.1 hop-by-hop fields, plus fields this hop consumes: Host (set per upstream), Expect
 * (Node already answered 100-continue), HTTP2-Settings (h2c upgrade, RFC 9113 §3.2.1) and Proxy-*
 * (credentials for a proxy, never for the app).
 */
const DROPPED_REQUEST_FIELDS = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  'http2-settings',
]);

/**
 * Fields some upstreams act on instead of the request line: IIS URL Rewrite, Symfony and Laminas serve
 * X-Original-URL / X-Rewrite-URL (nginx setups X-Original-URI) in place of the path, so `GET /public`
 * with `X-Original-URL: /admin` would reach a path the policy never saw; Rails, Express's
 * method-override, Spring and ASP.NET run the method named in X-HTTP-Method-Override / X-HTTP-Method /
 * X-Method-Override, so a `GET` a policy allowed would run as `DELETE`.
 */
const PATH_OVERRIDE_FIELDS = new Set(['x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-http-method-override', 'x-http-method', 'x-method-override']);

/**
 * First letters (lower-cased) of every field name this module acts on: connection, cookie, keep-alive,
 * te, trailer, transfer-encoding, upgrade, host, http2-settings, expect, gatehouse-*, proxy-*,
 * x-forwarded-*, the request-line overrides (x-original-url, x-http-method-override, ...), x-real-ip,
 * forwarded. Other fields pass without being
 * lower-cased (hot path).
 */
const ACTED_ON_FIRST_LETTER = new Uint8Array(128);
for (const letter of 'ckthuegpxf') ACTED_ON_FIRST_LETTER[letter.charCodeAt(0)] = 1;

/** Connection options may not remove the fields that frame the message or route it. */
const PROTECTED_FROM_CONNECTION = new Set(['content-length', 'host']);

export interface UpstreamHeaderContext {
  trustedProxies: TrustedProxies;
  /** The gateway's parse of this request (see ForwardOptions.forwarded); used as it is when given. */
  forwarded?: ForwardedHeaders | undefined;
  /** Host header for the upstream; undefined keeps the client's Host. */
  upstreamHost: string | undefined;
  /** Cookie names removed before the upstream sees them (the Gatehouse session cookie). */
  strippedCookies: ReadonlySet<string> | null;
  assertion: string | undefined;
  requestId: string | undefined;
  /** Extra fields the upgrade path needs (`Connection: Upgrade`, `Upgrade: websocket`). */
  extra?: readonly string[];
}

/**
 * The header list (flat name/value array, as undici and Node take it) sent to the upstream: the
 * client's end-to-end fields, minus hop-by-hop ones, minus anything in the `Gatehouse-*` namespace
 * (only we may assert identity), minus any name with `_` and the path overrides, with X-Forwarded-*
 * rebuilt (see forwarded-headers). One pass over rawHeaders, because this runs on every request.
 */
export function buildUpstreamRequestHeaders(req: IncomingMessage, context: UpstreamHeaderContext): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let connection: string | undefined;
  let host = '';
  let receivedFor: string | undefined;
  let receivedProto: string | undefined;
  let receivedHost: string | undefined;
  let receivedForwarded: string | undefined;
  let keptForwarding: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // CGI (RFC 3875 §4.1.18), WSGI, Rack and PHP expose fields as HTTP_* variables, with `-` turned
    // into `_`: `Gatehouse_Jwt_Assertion` or `X_Forwarded_For` would land in the same variable as the
    // field we set, and could win. Dropped, as nginx does by default (underscores_in_headers off).
    if (name.includes('_')) continue;
    if (ACTED_ON_FIRST_LETTER[(name.charCodeAt(0) | 0x20) & 0x7f] === 0) {
      out.push(name, value);
      continue;
    }
    const lower = name.toLowerCase();
    if (DROPPED_REQUEST_FIELDS.has(lower)) {
      if (lower === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
      else if (lower === 'host') host = value;
      continue;
    }
    const first = lower.charCodeAt(0);
    if (first === 103 /* g */ && lower.startsWith('gatehouse-')) continue;
    if (first === 112 /* p */ && lower.startsWith('proxy-')) continue;
    if (first === 120 /* x */ && PATH_OVERRIDE_FIELDS.has(lower)) continue;
    if (first === 120 /* x */ && lower.startsWith('x-forwarded-')) {
      if (lower === 'x-forwarded-for') receivedFor = receivedFor === undefined ? value : `${receivedFor}, ${value}`;
      // Every line joined: the last entry is the one our peer wrote (see buildForwardedHeaders).
      else if (lower === 'x-forwarded-proto') receivedProto = receivedProto === undefined ? value : `${receivedProto}, ${value}`;
      else if (lower === 'x-forwarded-host') receivedHost = receivedHost === undefined ? value : `${receivedHost}, ${value}`;
      else (keptForwarding ??= []).push(name, value);
      continue;
    }
    if (lower === 'forwarded' || lower === 'x-real-ip') {
      if (lower === 'forwarded') receivedForwarded = receivedForwarded === undefined ? value : `${receivedForwarded}, ${value}`;
      (keptForwarding ??= []).push(name, value);
      continue;
    }
    if (lower === 'cookie' && context.strippedCookies !== null) {
      const kept = stripCookies(value, context.strippedCookies);
      if (kept !== '') out.push(name, kept);
      continue;
    }
    out.push(name, value);
  }

  const headers = connection === undefined ? out : removeConnectionOptions(out, connection);
  const forwarded =
    context.forwarded ??
    buildForwardedHeaders(
      { address: req.socket.remoteAddress ?? '', encrypted: Boolean((req.socket as TLSSocket).encrypted) },
      host,
      { for: receivedFor, proto: receivedProto, host: receivedHost, forwarded: receivedForwarded },
      context.trustedProxies,
    );
  // Other forwarding fields (Forwarded, X-Real-IP, X-Forwarded-Port...) are believed only from a trusted proxy.
  if (forwarded.peerTrusted && keptForwarding !== undefined) headers.push(...keptForwarding);
  headers.push(
    'host',
    context.upstreamHost ?? host,
    'x-forwarded-for',
    forwarded.forwardedFor,
    'x-forwarded-proto',
    forwarded.forwardedProto,
    'x-forwarded-host',
    forwarded.forwardedHost,
    // RFC 9110 §7.6.3: a gateway sends Via in each inbound request.
    'via',
    `${req.httpVersion} gatehouse`,
  );
  if (context.assertion !== undefined) headers.push(ASSERTION_HEADER, context.assertion);
  if (context.requestId !== undefined) headers.push(REQUEST_ID_HEADER, context.requestId);
  if (context.extra !== undefined) headers.push(...context.extra);
  return headers;
}

/** RFC 9110 §7.6.1: the fields named in Connection are hop-by-hop too. */
function removeConnectionOptions(headers: string[], connection: string): string[] {
  const listed = new Set<string>();
  for (const option of connection.split(',')) {
    const name = option.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade' && !PROTECTED_FROM_CONNECTION.has(name)) {
      listed.add(name);
    }
  }
  if (listed.size === 0) return headers;
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!listed.has(headers[i]!.toLowerCase())) kept.push(headers[i]!, headers[i + 1]!);
  }
  return kept;
}

/** Removes named cookies from a Cookie header (RFC 6265 §4.2.1: `name=value` pairs separated by `; `). */
function stripCookies(header: string, names: ReadonlySet<string>): string {
  const kept: string[] = [];
  for (const pair of header.split(';')) {
    const trimmed = pair.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim();
    if (!names.has(name)) kept.push(trimmed);
  }
  return kept.join('; ');
}
