import { describe, expect, it } from 'vitest';
import { ClientInFlightLimit, clientKeyOf } from './client-in-flight-limit.js';

describe('ClientInFlightLimit', () => {
  it('refuses past the limit per client and forgets a client once its requests are over', () => {
    const limit = new ClientInFlightLimit(2);
    const first = limit.acquire('192.0.2.1')!;
    const second = limit.acquire('192.0.2.1')!;
    expect(limit.acquire('192.0.2.1')).toBeNull();
    expect(limit.acquire('192.0.2.2')).not.toBeNull();
    first();
    // A release called twice (two exit paths of one request) gives back one slot, not two.
    first();
    expect(limit.acquire('192.0.2.1')).not.toBeNull();
    expect(limit.acquire('192.0.2.1')).toBeNull();
    second();
    expect(limit.size).toBe(2);
  });

  it('returns every counter to zero', () => {
    const limit = new ClientInFlightLimit(5);
    const releases = ['192.0.2.1', '192.0.2.1', '2001:db8::1', '2001:db8::2'].map((address) => limit.acquire(address)!);
    expect({ size: limit.size, clients: limit.clients }).toEqual({ size: 4, clients: 2 });
    for (const release of releases) release();
    expect({ size: limit.size, clients: limit.clients }).toEqual({ size: 0, clients: 0 });
  });
});

describe('clientKeyOf', () => {
  it('counts IPv6 clients per /64, whatever address in it they pick', () => {
    expect(clientKeyOf('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientKeyOf('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(clientKeyOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientKeyOf('::1')).toBe('0:0:0:0::/64');
    expect(clientKeyOf('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('counts IPv4 clients per address', () => {
    expect(clientKeyOf('192.0.2.1')).toBe('192.0.2.1');
    expect(clientKeyOf('')).toBe('');
  });
});
