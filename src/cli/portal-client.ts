import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import { GatehouseError } from '../lib/errors.js';

export interface PortalReply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * RFC 6761 §6.3: `localhost` and names under it are the loopback interface. Node asks the system
 * resolver, which does not know `*.localhost`; browsers answer it themselves, and so does this.
 */
export const loopbackAwareLookup: LookupFunction = (hostname, options, callback) => {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) {
    if (options.all) return (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    return callback(null, '127.0.0.1', 4);
  }
  return dnsLookup(hostname, options, callback);
};

/** Normalises `--portal` to an origin-like base (`https://sso.example.com`), refusing anything else. */
export function portalBaseOf(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GatehouseError('usage', { status: 400, publicMessage: `--portal ${raw}: not a URL (e.g. https://sso.example.com)` });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new GatehouseError('usage', { status: 400, publicMessage: '--portal must be an https URL' });
  // The credential is a bearer secret: plain http only where it cannot leave this computer.
  const host = url.hostname.toLowerCase();
  const loopback = host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1' || host === '[::1]';
  if (url.protocol === 'http:' && !loopback) throw new GatehouseError('usage', { status: 400, publicMessage: `--portal ${url.origin}: use https (plain http would send the credential in clear)` });
  return url.origin;
}

/** One JSON request to the portal; a refusal keeps the portal's `code` and message. */
export function portalRequest(portal: string, path: string, options: { method?: string; bearer?: string; body?: unknown } = {}): Promise<PortalReply> {
  const url = new URL(path, portal);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method ?? 'GET',
        lookup: loopbackAwareLookup,
        timeout: 30_000,
        headers: {
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk.length + text.length > 1_000_000 ? '' : chunk));
        res.on('end', () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { message: `the portal answered ${res.statusCode} without JSON` };
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} within 30 s`)));
    req.on('error', (error) => reject(new GatehouseError('portal_unreachable', { status: 503, publicMessage: `Cannot reach the portal at ${url.origin}.`, detail: error.message })));
    req.end(payload);
  });
}

/** The portal's refusal as an error the CLI reports: its message and code, and a hint where one helps. */
export function portalRefusal(reply: PortalReply, hint?: string): GatehouseError {
  const code = typeof reply.body.code === 'string' ? reply.body.code : `http_${reply.status}`;
  const message = typeof reply.body.message === 'string' ? reply.body.message : `The portal refused (${reply.status}).`;
  return new GatehouseError(code, { status: reply.status >= 500 ? 503 : 403, publicMessage: hint ? `${message} ${hint}` : message });
}
