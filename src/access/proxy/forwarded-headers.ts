import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { unmapIPv4 } from '../../lib/ip/unmap-ipv4.js';
import type { TrustedProxies } from './trusted-proxies.js';

/** X-Forwarded-* values the client (or a proxy in front of us) sent. */
export interface ReceivedForwarded {
  for?: string | undefined;
  proto?: string | undefined;
  host?: string | undefined;
  /** The RFC 7239 `Forwarded` field; only its `proto=` is read. */
  forwarded?: string | undefined;
}

export interface ForwardedHeaders {
  /** Value for X-Forwarded-For. */
  forwardedFor: string;
  /** Value for X-Forwarded-Proto (`http` or `https`). */
  forwardedProto: string;
  /** Value for X-Forwarded-Host. */
  forwardedHost: string;
  /** The address policies should treat as the client's (IP rules, audit). */
  clientAddress: string;
  /** Whether the TCP peer is a trusted proxy, i.e. whether received values were kept. */
  peerTrusted: boolean;
}

/**
 * X-Forwarded-* as the upstream should see them. A client can write anything into these headers, so
 * they are kept (and extended) only when the TCP peer is a configured trusted proxy; otherwise they
 * are replaced by what this hop observed. Spoofed values would otherwise defeat IP-based policies and
 * the upstream's own logs.
 *
 * The protocol is the one decision every reader shares (the HTTP→HTTPS redirect, HSTS, Secure
 * cookies, the upstream's X-Forwarded-Proto): https when the request came in on TLS, else what a
 * trusted peer says. Threats: a hostile client saying "https" to skip the redirect and get a
 * sign-in page over plain HTTP, or "http" to draw redirects; both are ignored from an untrusted peer.
 */
export function buildForwardedHeaders(
  peer: { address: string; encrypted: boolean },
  requestHost: string,
  received: ReceivedForwarded,
  trusted: TrustedProxies,
): ForwardedHeaders {
  const peerAddress = unmapIPv4(peer.address);
  const ownProto = peer.encrypted ? 'https' : 'http';
  if (!trusted.contains(peerAddress)) {
    return { forwardedFor: peerAddress, forwardedProto: ownProto, forwardedHost: requestHost, clientAddress: peerAddress, peerTrusted: false };
  }
  const chain = received.for?.trim() ? received.for : undefined;
  return {
    forwardedFor: chain ? `${chain}, ${peerAddress}` : peerAddress,
    // The TLS hop to us is proof of https; a trusted proxy's word is needed only on plain HTTP.
    forwardedProto: peer.encrypted ? 'https' : (trustedProto(received) ?? ownProto),
    // The last entry, the one our peer wrote: a proxy that appends keeps the client's own value left of it.
    forwardedHost: received.host?.split(',').at(-1)?.trim() || requestHost,
    clientAddress: chain ? rightmostUntrusted(chain, peerAddress, trusted) : peerAddress,
    peerTrusted: true,
  };
}

/** For callers holding the request: reads the received X-Forwarded-For and Forwarded values from it. */
export function forwardedHeadersOf(req: IncomingMessage, trusted: TrustedProxies): ForwardedHeaders {
  const joined = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  return buildForwardedHeaders(
    { address: req.socket.remoteAddress ?? '', encrypted: Boolean((req.socket as TLSSocket).encrypted) },
    req.headers.host ?? '',
    { for: joined('x-forwarded-for'), proto: joined('x-forwarded-proto'), host: joined('x-forwarded-host'), forwarded: joined('forwarded') },
    trusted,
  );
}

/** Whether the client reached the first trusted hop over TLS (see buildForwardedHeaders): one rule for the redirect, HSTS and Secure cookies. */
export function isHttpsRequest(req: IncomingMessage, trusted: TrustedProxies): boolean {
  return forwardedHeadersOf(req, trusted).forwardedProto === 'https';
}

/**
 * The scheme a trusted peer reports. Each field is read at its last entry, the one our peer wrote or
 * appended: entries left of it may come from the client (a proxy that appends rather than replaces).
 * Anything but http/https is ignored; X-Forwarded-Proto and Forwarded disagreeing means one of them
 * came through from the client, and http (redirect to the configured host) is the safe reading.
 */
function trustedProto(received: ReceivedForwarded): 'http' | 'https' | undefined {
  const fromX = schemeOf(received.proto?.split(',').pop());
  const fromForwarded = schemeOf(received.forwarded === undefined ? undefined : forwardedProtoOf(received.forwarded));
  if (fromX !== undefined && fromForwarded !== undefined && fromX !== fromForwarded) return 'http';
  return fromX ?? fromForwarded;
}

function schemeOf(value: string | undefined): 'http' | 'https' | undefined {
  const scheme = value?.trim().toLowerCase();
  return scheme === 'http' || scheme === 'https' ? scheme : undefined;
}

/** RFC 7239 §4: `proto=` of the last forwarded-element. */
function forwardedProtoOf(field: string): string | undefined {
  for (const pair of splitOutsideQuotes(splitOutsideQuotes(field, ',').at(-1)!, ';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'proto') return pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** Splits on `separator` outside RFC 9110 §5.6.4 quoted strings, so a quoted value cannot forge a pair. */
function splitOutsideQuotes(text: string, separator: ',' | ';'): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted && char === '\\') {
      current += text.slice(i, i + 2);
      i++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/**
 * The client is the rightmost address not added by one of our trusted proxies: every entry left of
 * that was written by a party we do not trust. An entry that is not an address stops the walk.
 */
function rightmostUntrusted(chain: string, peerAddress: string, trusted: TrustedProxies): string {
  const entries = chain.split(',');
  let candidate = peerAddress;
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = stripPort(entries[i]!.trim());
    if (isIP(address) === 0) break;
    candidate = address;
    if (!trusted.contains(address)) break;
  }
  return candidate;
}

function stripPort(entry: string): string {
  if (entry.startsWith('[')) {
    const end = entry.indexOf(']');
    return end > 0 ? entry.slice(1, end) : entry;
  }
  const colon = entry.indexOf(':');
  // One colon means IPv4 with a port; several mean a bare IPv6 address.
  return colon > 0 && colon === entry.lastIndexOf(':') ? entry.slice(0, colon) : unmapIPv4(entry);
}
