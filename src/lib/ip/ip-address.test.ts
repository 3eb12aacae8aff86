import { BlockList } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileCidrSet } from './cidr-set.js';
import { formatIp, newIpScratch, parseCidr, parseIpInto } from './ip-address.js';
import { canonicalIp, compileIpMatcher } from './ip-matcher.js';

function parse(text: string) {
  const ip = newIpScratch();
  return parseIpInto(text, ip) ? { kind: ip.kind, text: formatIp(ip) } : undefined;
}

describe('parseIpInto', () => {
  it.each([
    ['203.0.113.9', 4, '203.0.113.9'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['255.255.255.255', 4, '255.255.255.255'],
    ['::ffff:203.0.113.9', 4, '203.0.113.9'],
    ['::FFFF:cb00:7109', 4, '203.0.113.9'],
    ['0:0:0:0:0:ffff:203.0.113.9', 4, '203.0.113.9'],
    ['2001:DB8::1', 6, '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'],
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['1::', 6, '1::'],
    ['fe80::1%eth0', 6, 'fe80::1'],
    ['64:ff9b::192.0.2.33', 6, '64:ff9b::c000:221'],
  ])('%s parses as IPv%s %s', (text, kind, canonical) => {
    expect(parse(text)).toEqual({ kind, text: canonical });
  });

  it.each([
    '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1..2.3', '1.2.3.', '-1.2.3.4',
    '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1', '1:', '12345::', 'g::1', '::ffff:1.2.3', '1:2:3:4:5:6:7:1.2.3.4',
    '1:2:3:4:5:6:7:8::', 'localhost', '0x7f.0.0.1', '127.1',
  ])('%j is refused', (text) => {
    expect(parse(text)).toBeUndefined();
  });

  it('formats IPv6 like the WHATWG URL parser (RFC 5952 canonical form)', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ours = parse(text);
        if (ours?.kind === 4) return; // mapped addresses fold to IPv4 by design
        const url = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        expect(ours?.text).toBe(url);
      }),
      { numRuns: 500 },
    );
  });

  it('compresses zero runs like the WHATWG URL parser (groups drawn mostly zero)', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(1), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const text = groups.map((g) => g.toString(16)).join(':');
        const ours = parse(text);
        if (ours?.kind === 4) return;
        expect(ours?.text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every dotted IPv4 address', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(parse(text)?.text).toBe(text);
      }),
    );
  });
});

describe('parseCidr', () => {
  it('refuses host bits, bad prefixes and zone ids, naming the input', () => {
    expect(parseCidr('10.0.0.1/8')).toMatch(/host bits are set \(the network is 10\.0\.0\.0\/8\)/);
    expect(parseCidr('2001:db8::1/32')).toMatch(/host bits are set/);
    expect(parseCidr('10.0.0.0/33')).toMatch(/exceeds 32/);
    expect(parseCidr('::/129')).toMatch(/exceeds 128/);
    expect(parseCidr('10.0.0.0/08')).toMatch(/must be a number/);
    expect(parseCidr('::ffff:10.0.0.0/8')).toMatch(/\/96 to \/128/);
    expect(parseCidr('fe80::/10%eth0')).toMatch(/prefix length must be a number/);
    expect(parseCidr('fe80::1%eth0')).toMatch(/zone ids are not allowed/);
    expect(parseCidr('nonsense')).toMatch(/"nonsense" is not an IPv4 or IPv6 CIDR/);
  });

  it('folds an IPv4-mapped CIDR to IPv4', () => {
    expect(parseCidr('::ffff:10.0.0.0/104')).toMatchObject({ kind: 4, start: 0x0a000000, end: 0x0affffff });
  });
});

describe('compileCidrSet', () => {
  it('matches IPv4, IPv6 and IPv4-mapped requests', () => {
    const matches = compileIpMatcher(['10.0.0.0/8', '192.0.2.128/25', '2001:db8::/32', '::ffff:198.51.100.0/120']);
    expect(matches('10.255.0.1')).toBe(true);
    expect(matches('::ffff:10.1.2.3')).toBe(true);
    expect(matches('11.0.0.1')).toBe(false);
    expect(matches('192.0.2.128')).toBe(true);
    expect(matches('192.0.2.127')).toBe(false);
    expect(matches('198.51.100.77')).toBe(true);
    expect(matches('2001:db8:ffff::1')).toBe(true);
    expect(matches('2001:db9::1')).toBe(false);
    expect(matches('not an ip')).toBe(false);
  });

  it('keeps IPv6 ranges that do not cover ::ffff:0:0/96 away from IPv4 clients', () => {
    expect(compileIpMatcher(['::/0'])('203.0.113.9')).toBe(false);
    expect(compileIpMatcher(['::/0'])('2001:db8::1')).toBe(true);
  });

  it('agrees with node:net BlockList on random IPv4 and IPv6 sets', () => {
    const v4 = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }));
    const v6 = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }));
    fc.assert(
      fc.property(fc.array(v4, { maxLength: 8 }), fc.array(v6, { maxLength: 8 }), fc.ipV4(), fc.ipV6(), (nets4, nets6, probe4, probe6) => {
        // Separate lists: BlockList lets ::/0 cover IPv4 clients, which we refuse by design (tested above).
        const reference4 = new BlockList();
        const reference6 = new BlockList();
        const cidrs: string[] = [];
        for (const [addr, prefix] of nets4) {
          const network = networkOf(addr, prefix);
          cidrs.push(`${network}/${prefix}`);
          reference4.addSubnet(network, prefix, 'ipv4');
        }
        for (const [addr, prefix] of nets6) {
          if (parse(addr)?.kind !== 6) continue;
          const network = networkOf6(addr, prefix);
          if (parse(network)?.kind !== 6) continue; // a network inside ::ffff:0:0/96 folds to IPv4
          cidrs.push(`${network}/${prefix}`);
          reference6.addSubnet(network, prefix, 'ipv6');
        }
        const set = compileCidrSet(cidrs);
        const ip = newIpScratch();
        parseIpInto(probe4, ip);
        expect(set.has(ip)).toBe(reference4.check(probe4, 'ipv4'));
        if (parseIpInto(probe6, ip) && ip.kind === 6) expect(set.has(ip)).toBe(reference6.check(probe6, 'ipv6'));
      }),
      { numRuns: 300 },
    );
  });

  it('canonicalIp gives the form isIpBlocked receives', () => {
    expect(canonicalIp('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(canonicalIp('2001:0DB8:0:0::1')).toBe('2001:db8::1');
    expect(canonicalIp('junk')).toBeUndefined();
  });
});

function networkOf(addr: string, prefix: number): string {
  const ip = newIpScratch();
  parseIpInto(addr, ip);
  const size = 2 ** (32 - prefix);
  ip.v4 -= ip.v4 % size;
  return formatIp(ip);
}

function networkOf6(addr: string, prefix: number): string {
  const ip = newIpScratch();
  parseIpInto(addr, ip);
  for (let w = 0; w < 4; w++) {
    const bits = Math.min(32, Math.max(0, prefix - 32 * w));
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    ip.v6[w] = (ip.v6[w]! & mask) >>> 0;
  }
  return formatIp(ip);
}
