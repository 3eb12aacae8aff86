import { describe, expect, it } from 'vitest';
import { lookupRequesterOf } from './lookup-requester.js';

describe('lookupRequesterOf', () => {
  it('counts a personal DoH user as one client whatever address it comes from', () => {
    expect(lookupRequesterOf({ address: '192.0.2.1', user: 'u1' })).toBe('user:u1');
    expect(lookupRequesterOf({ address: '2001:db8::1', user: 'u1' })).toBe('user:u1');
  });

  it('counts IPv4 per address, an IPv4-mapped address as the IPv4 one', () => {
    expect(lookupRequesterOf({ address: '192.0.2.1' })).toBe('ip:192.0.2.1');
    expect(lookupRequesterOf({ address: '::ffff:192.0.2.1' })).toBe('ip:192.0.2.1');
    expect(lookupRequesterOf({ address: '192.0.2.2' })).not.toBe(lookupRequesterOf({ address: '192.0.2.1' }));
  });

  it('counts IPv6 per /64: rotating the interface identifier does not buy a fresh budget', () => {
    const one = lookupRequesterOf({ address: '2001:db8:0:1::1' });
    expect(one).toBe('ip:2001:db8:0:1::/64');
    expect(lookupRequesterOf({ address: '2001:0db8:0000:0001:dead:beef:0:7' })).toBe(one);
    expect(lookupRequesterOf({ address: '2001:db8:0:2::1' })).not.toBe(one);
    expect(lookupRequesterOf({ address: '::1' })).toBe('ip:0:0:0:0::/64');
    expect(lookupRequesterOf({ address: 'fe80::1%eth0' })).toBe('ip:fe80:0:0:0::/64');
  });
});
