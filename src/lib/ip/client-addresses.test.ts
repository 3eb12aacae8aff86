import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientAddresses } from './client-addresses.js';
import { type IpScratch, formatIp, newIpScratch, parseIpInto } from './ip-address.js';

/** What reading a spelling must give: the plain parser's result and its formatting. */
function plain(raw: string): { kind: number; v4: number; v6: number[]; canonical: string } | undefined {
  const ip = newIpScratch();
  if (!parseIpInto(raw, ip)) return undefined;
  return { kind: ip.kind, v4: ip.kind === 4 ? ip.v4 : 0, v6: ip.kind === 6 ? Array.from(ip.v6) : [], canonical: formatIp(ip) };
}

function read(addresses: ClientAddresses, raw: string): ReturnType<typeof plain> {
  const ip: IpScratch = newIpScratch();
  // Stale values in the scratch must never leak into the answer.
  ip.kind = 6 as IpScratch['kind'];
  ip.v4 = 0xdeadbeef;
  ip.v6.fill(0xffffffff);
  const canonical = addresses.read(raw, ip);
  if (canonical === undefined) {
    expect(ip.kind).toBe(0);
    return undefined;
  }
  return { kind: ip.kind, v4: ip.kind === 4 ? ip.v4 : 0, v6: ip.kind === 6 ? Array.from(ip.v6) : [], canonical };
}

const spelling = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4().map((v4) => `::ffff:${v4}`),
  fc.ipV4().map((v4) => `::FFFF:${v4}`),
  fc.ipV6().map((v6) => `${v6}%eth0`),
  fc.constantFrom('', 'junk', '010.1.2.3', '1.2.3.4.5', ':::', '1.2.3.4, 5.6.7.8', 'x'.repeat(100)),
);

describe('client addresses', () => {
  it('read the same as the plain parser, the first time and every time after', () => {
    const addresses = new ClientAddresses();
    fc.assert(
      fc.property(fc.array(spelling, { minLength: 1, maxLength: 20 }), (spellings) => {
        for (let round = 0; round < 2; round++) {
          for (const raw of spellings) expect(read(addresses, raw)).toEqual(plain(raw));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stay right past the number of spellings remembered', () => {
    const addresses = new ClientAddresses();
    let wrong = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 1; i < 10_000; i += 3) {
        const raw = `2001:DB8::${i.toString(16)}:1`;
        const got = read(addresses, raw);
        if (got?.canonical !== `2001:db8::${i.toString(16)}:1` || got.v6[3] !== (i * 65536 + 1) >>> 0) wrong++;
      }
    }
    expect(wrong).toBe(0);
  });

  it('the usual dual-stack spelling reads as IPv4 with its dotted text', () => {
    const addresses = new ClientAddresses();
    expect(read(addresses, '::ffff:203.0.113.9')).toEqual({ kind: 4, v4: 0xcb007109, v6: [], canonical: '203.0.113.9' });
    expect(read(addresses, '::ffff:203.0.113.9')?.canonical).toBe('203.0.113.9');
  });
});
