import { describe, expect, it } from 'vitest';
import { buildForwardedHeaders } from './forwarded-headers.js';
import { createTrustedProxies } from './trusted-proxies.js';

const lb = createTrustedProxies(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
const peer = (address: string, encrypted = true) => ({ address, encrypted });

describe('buildForwardedHeaders', () => {
  it('from an untrusted peer: replaces every received value with what this hop saw', () => {
    expect(buildForwardedHeaders(peer('203.0.113.9'), 'app.example.com', { for: '10.1.1.1', proto: 'http', host: 'evil' }, lb)).toEqual({
      forwardedFor: '203.0.113.9',
      forwardedProto: 'https',
      forwardedHost: 'app.example.com',
      clientAddress: '203.0.113.9',
      peerTrusted: false,
    });
  });

  it('from a trusted peer: appends to the chain and keeps proto and host', () => {
    expect(buildForwardedHeaders(peer('::ffff:10.0.0.5', false), 'internal', { for: '198.51.100.1', proto: 'HTTPS', host: 'app.example.com' }, lb)).toEqual({
      forwardedFor: '198.51.100.1, 10.0.0.5',
      forwardedProto: 'https',
      forwardedHost: 'app.example.com',
      clientAddress: '198.51.100.1',
      peerTrusted: true,
    });
  });

  it('takes as client the rightmost address not added by a trusted proxy', () => {
    const chain = '6.6.6.6, 198.51.100.1, 10.9.9.9, 2001:db8::1';
    expect(buildForwardedHeaders(peer('192.0.2.7'), 'h', { for: chain }, lb).clientAddress).toBe('198.51.100.1');
    expect(buildForwardedHeaders(peer('192.0.2.7'), 'h', { for: '198.51.100.1:5555, [2001:db8::9]:443' }, lb).clientAddress).toBe('198.51.100.1');
    // Garbage stops the walk at the last address a trusted hop vouched for.
    expect(buildForwardedHeaders(peer('192.0.2.7'), 'h', { for: 'not-an-ip, 10.0.0.1' }, lb).clientAddress).toBe('10.0.0.1');
  });

  it('reads the proto a trusted peer wrote: the last X-Forwarded-Proto entry or Forwarded element', () => {
    const plain = peer('10.0.0.1', false);
    const proto = (received: { proto?: string; forwarded?: string }) => buildForwardedHeaders(plain, 'h', received, lb).forwardedProto;
    // A client's own value, left of what an appending proxy added, is not believed.
    expect(proto({ proto: 'https, http' })).toBe('http');
    expect(proto({ proto: 'http, HTTPS' })).toBe('https');
    expect(proto({ forwarded: 'for=198.51.100.1;proto=https' })).toBe('https');
    expect(proto({ forwarded: 'for=6.6.6.6;proto=https, for=198.51.100.1;proto=http' })).toBe('http');
    expect(proto({ forwarded: 'for=198.51.100.1;proto=http, for="[2001:db8::1]:443";proto="https"' })).toBe('https');
    // A quoted value cannot forge a pair or an element.
    expect(proto({ forwarded: 'for="x;proto=https, proto=https";proto=http' })).toBe('http');
    // The two fields disagreeing: one came through from the client; http is the safe reading.
    expect(proto({ proto: 'https', forwarded: 'proto=http' })).toBe('http');
    expect(proto({ proto: 'https', forwarded: 'for=198.51.100.1' })).toBe('https');
  });

  it('reads the host a trusted peer wrote: the last X-Forwarded-Host entry', () => {
    const host = (received: string) => buildForwardedHeaders(peer('10.0.0.1'), 'internal', { host: received }, lb).forwardedHost;
    // An appending proxy keeps the client's own value left of its own: the client's is not believed.
    expect(host('evil.example.net, app.example.com')).toBe('app.example.com');
    expect(host('evil.example.net,app.example.com ')).toBe('app.example.com');
    expect(host('app.example.com')).toBe('app.example.com');
    // An empty last entry says nothing: the Host this hop received stands.
    expect(host('evil.example.net, ')).toBe('internal');
  });

  it('ignores the proto an untrusted peer sends, and believes TLS over any header', () => {
    for (const received of [{ proto: 'https' }, { forwarded: 'proto=https' }]) {
      expect(buildForwardedHeaders(peer('203.0.113.9', false), 'h', received, lb).forwardedProto).toBe('http');
    }
    expect(buildForwardedHeaders(peer('10.0.0.1', true), 'h', { proto: 'http', forwarded: 'proto=http' }, lb).forwardedProto).toBe('https');
  });

  it('ignores a proto other than http/https', () => {
    expect(buildForwardedHeaders(peer('10.0.0.1', false), 'h', { proto: 'javascript' }, lb).forwardedProto).toBe('http');
  });
});

describe('createTrustedProxies', () => {
  it('matches IPv4, IPv4-mapped IPv6 and IPv6 ranges', () => {
    expect(lb.contains('10.200.0.1')).toBe(true);
    expect(lb.contains('::ffff:10.200.0.1')).toBe(true);
    expect(lb.contains('2001:db8:1::1')).toBe(true);
    expect(lb.contains('192.0.2.7')).toBe(true);
    expect(lb.contains('192.0.2.8')).toBe(false);
    expect(lb.contains('11.0.0.1')).toBe(false);
    expect(lb.contains('garbage')).toBe(false);
    expect(createTrustedProxies([]).contains('127.0.0.1')).toBe(false);
  });

  it('refuses a bad entry at start-up, naming it', () => {
    expect(() => createTrustedProxies(['10.0.0.0/8', '10.0.0.0/33'])).toThrow(/trusted_proxies\[1\]: "10.0.0.0\/33"/);
    expect(() => createTrustedProxies(['example.com'])).toThrow(/trusted_proxies\[0\]/);
    expect(() => createTrustedProxies(['10.0.0.0/'])).toThrow(/trusted_proxies\[0\]/);
  });
});
