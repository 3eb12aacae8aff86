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
  const proto = received.proto?.split(',')[0]?.trim().toLowerCase();
  return {
    forwardedFor: chain ? `${chain}, ${peerAddress}` : peerAddress,
    forwardedProto: proto === 'http' || proto === 'https' ? proto : ownProto,
    forwardedHost: received.host?.split(',')[0]?.trim() || requestHost,
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
    { for: joined('x-forwarded-for'), proto: joined('x-forwarded-proto'), host: joined('x-forwarded-host') },
    trusted,
  );
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
