/**
 * DNS over HTTPS (RFC 8484) as a framework-free function: the HTTP server passes method, query, body,
 * headers and peer address, and writes back status, headers and body. Per-user DoH puts a token in the
 * URL path (`/dns-query/<token>`); an injected resolver maps it to a user and optionally a policy.
 * Without a token only loopback clients are answered unless the operator opens it to everyone.
 */
import { compileIpMatcher } from '../lib/ip/ip-matcher.js';
import { GatehouseError } from '../lib/errors.js';
import type { ClientPolicy } from './client-policies.js';
import type { QueryContext, QueryHandler } from './query-handler.js';
import { TYPE_OPT, skipName } from './wire-query.js';

export interface DohRequest {
  method: string;
  /** Request path, e.g. `/dns-query` or `/dns-query/<token>`. */
  path?: string;
  /** The per-user token when the HTTP server already extracted it from its route. */
  token?: string;
  query?: Record<string, string | string[] | undefined> | URLSearchParams;
  body?: Uint8Array | null;
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string;
}

export interface DohResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface DohIdentity {
  user: string;
  /** Name of a configured client policy; the address-based one applies when absent. */
  policy?: string;
}

export type DohTokenResolver = (token: string) => DohIdentity | null | undefined | Promise<DohIdentity | null | undefined>;

const CONTENT_TYPE = 'application/dns-message';
const MAX_MESSAGE = 65535;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;

/** The stable code goes in a header and first in the body, so a client or a person can act on it. */
function failure(error: GatehouseError, extra: Record<string, string> = {}): DohResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-gatehouse-error': error.code, ...extra },
    body: Buffer.from(`${error.code}: ${error.publicMessage}\n`),
  };
}

const LOOPBACK = compileIpMatcher(['127.0.0.0/8', '::1/128']);

/** 127.0.0.0/8 and ::1 in any spelling, also as an IPv4-mapped IPv6 address (a dual-stack socket). */
export function isLoopbackAddress(address: string): boolean {
  return LOOPBACK(address);
}

function header(headers: DohRequest['headers'], name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function queryParam(query: DohRequest['query'], name: string): string | string[] | undefined {
  if (!query) return undefined;
  if (query instanceof URLSearchParams) {
    const all = query.getAll(name);
    return all.length > 1 ? all : all[0];
  }
  return query[name];
}

/** RFC 8484 §5.1: the HTTP freshness lifetime is the smallest TTL in the reply. */
export function smallestTtl(reply: Buffer): number {
  if (reply.length < 12) return 0;
  const records = reply.readUInt16BE(6) + reply.readUInt16BE(8) + reply.readUInt16BE(10);
  let pos = skipName(reply, 12, reply.length);
  if (pos < 0) return 0;
  pos += 4;
  let smallest = Infinity;
  for (let r = 0; r < records; r++) {
    pos = skipName(reply, pos, reply.length);
    if (pos < 0 || pos + 10 > reply.length) break;
    if (reply.readUInt16BE(pos) !== TYPE_OPT) smallest = Math.min(smallest, reply.readUInt32BE(pos + 4));
    pos += 10 + reply.readUInt16BE(pos + 8);
  }
  return Number.isFinite(smallest) ? smallest : 0;
}

export function tokenFromPath(path: string | undefined, prefix: string): string | undefined {
  if (!path) return undefined;
  const clean = path.split('?')[0]!;
  if (!clean.startsWith(`${prefix}/`)) return undefined;
  const rest = clean.slice(prefix.length + 1);
  return rest.length > 0 ? rest : undefined;
}

export interface DohHandlerOptions {
  handler: QueryHandler;
  resolveToken?: DohTokenResolver;
  policyNamed: (name: string) => ClientPolicy | undefined;
  pathPrefix: string;
  /**
   * Answer requests without a personal token from any address (`dns.doh_allow_anonymous`). Off, only
   * loopback peers are: an open resolver on the portal lets anyone start registration-date lookups
   * and hide queries among our users' without being attributable to one.
   */
  allowAnonymous?: boolean;
  /** A request refused for who sent it (no or a bad token): for the log. */
  onRefused?: (code: string, remoteAddress: string) => void;
}

export function createDohHandler(options: DohHandlerOptions): (request: DohRequest) => Promise<DohResponse> {
  const refused = (error: GatehouseError, remoteAddress: string): DohResponse => {
    try {
      options.onRefused?.(error.code, remoteAddress);
    } catch {
      // Logging is best effort; the refusal stands.
    }
    return failure(error);
  };
  return async function handleDohRequest(request: DohRequest): Promise<DohResponse> {
    const ctx: QueryContext = { address: request.remoteAddress, protocol: 'doh' };
    const token = request.token ?? tokenFromPath(request.path, options.pathPrefix);
    if (token === undefined && !options.allowAnonymous && !isLoopbackAddress(request.remoteAddress)) {
      return refused(
        new GatehouseError('dns_doh_anonymous_refused', { status: 403, publicMessage: 'Use your personal DNS-over-HTTPS address from the portal.' }),
        request.remoteAddress,
      );
    }
    if (token !== undefined) {
      const invalid = new GatehouseError('dns_doh_token_invalid', { status: 401, publicMessage: 'Unknown DNS-over-HTTPS address.' });
      if (!TOKEN.test(token) || !options.resolveToken) return refused(invalid, request.remoteAddress);
      let identity: DohIdentity | null | undefined;
      try {
        identity = await options.resolveToken(token);
      } catch (cause) {
        return failure(new GatehouseError('dns_doh_token_lookup_failed', { status: 503, publicMessage: 'Try again later.', cause }));
      }
      if (!identity) return refused(invalid, request.remoteAddress);
      ctx.user = identity.user;
      if (identity.policy !== undefined) {
        const policy = options.policyNamed(identity.policy);
        // A token naming a policy that no longer exists must not fall back to a weaker one.
        if (!policy) return refused(new GatehouseError('dns_doh_policy_unknown', { status: 403, publicMessage: 'This DNS-over-HTTPS address is not usable.' }), request.remoteAddress);
        ctx.policy = policy;
      }
    }

    let message: Buffer;
    const method = request.method.toUpperCase();
    if (method === 'GET') {
      const dns = queryParam(request.query, 'dns');
      // RFC 8484 §4.1: one `dns` parameter, base64url without padding.
      if (typeof dns !== 'string' || !BASE64URL.test(dns) || dns.length > Math.ceil((MAX_MESSAGE * 4) / 3)) {
        return failure(new GatehouseError('dns_doh_bad_query', { status: 400, publicMessage: 'The dns parameter must be one unpadded base64url DNS message.' }));
      }
      message = Buffer.from(dns, 'base64url');
    } else if (method === 'POST') {
      const type = header(request.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
      if (type !== CONTENT_TYPE) {
        return failure(new GatehouseError('dns_doh_bad_content_type', { status: 415, publicMessage: `POST bodies must be ${CONTENT_TYPE}.` }));
      }
      if (!request.body || request.body.length === 0) {
        return failure(new GatehouseError('dns_doh_bad_query', { status: 400, publicMessage: 'The request body is empty.' }));
      }
      if (request.body.length > MAX_MESSAGE) {
        return failure(new GatehouseError('dns_doh_too_large', { status: 413, publicMessage: 'A DNS message is at most 65535 bytes.' }));
      }
      message = Buffer.from(request.body);
    } else {
      return failure(new GatehouseError('dns_doh_method', { status: 405, publicMessage: 'Use GET or POST.' }), { allow: 'GET, POST' });
    }

    const reply = await options.handler.handle(message, ctx);
    if (!reply) return failure(new GatehouseError('dns_doh_bad_query', { status: 400, publicMessage: 'The body is not a DNS query.' }));
    return {
      status: 200,
      headers: { 'content-type': CONTENT_TYPE, 'cache-control': `max-age=${smallestTtl(reply)}`, 'content-length': String(reply.length) },
      body: reply,
    };
  };
}
