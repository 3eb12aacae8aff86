import { expect, it } from 'vitest';
import { networkOf } from './network-of.js';

it('groups IPv4 by /24 and IPv6 by /48, IPv4-mapped IPv6 as IPv4', () => {
  expect(networkOf('198.51.100.77')).toBe('198.51.100.0/24');
  expect(networkOf('::ffff:198.51.100.77')).toBe('198.51.100.0/24');
  expect(networkOf('2001:db8:aa:1::5')).toBe('2001:db8:aa::/48');
  expect(networkOf('2001:0DB8:00aa:ffff:1:2:3:4')).toBe('2001:db8:aa::/48');
  expect(networkOf('2001:db8::1')).toBe('2001:db8::/48');
  expect(networkOf('::1')).toBe('::/48');
  expect(networkOf('0:0:1::')).toBe('0:0:1::/48');
  expect(networkOf('fe80::1%eth0')).toBeUndefined();
  for (const bad of ['', 'not-an-ip', '300.1.1.1', '1.2.3', '1.2.3.4/24']) expect(networkOf(bad)).toBeUndefined();
});
