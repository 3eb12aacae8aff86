import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dnsConfigSchema } from '../config/index.js';
import { ClientPolicyTable, type ClientPolicy } from './client-policies.js';
import { CompactDomainSet } from './compact-domain-set.js';

function policy(name: string): ClientPolicy {
  return { name, mode: 'filter', blocklists: [], allowlist: new CompactDomainSet(new Uint32Array(0)), blockResponse: 'nxdomain', classify: false };
}

/** The table's reading before it moved onto lib/ip: node:net BlockList, first matching policy wins. */
function blockListReference(policies: { name: string; networks: string[] }[]): (address: string) => string {
  const lists = policies.map(({ name, networks }) => {
    const list = new net.BlockList();
    for (const cidr of networks) {
      const [address, bits] = cidr.split('/') as [string, string];
      list.addSubnet(address, Number(bits), net.isIPv6(address) ? 'ipv6' : 'ipv4');
    }
    return { name, list };
  });
  return (raw) => {
    const address = raw.startsWith('::ffff:') && net.isIPv4(raw.slice(7)) ? raw.slice(7) : raw;
    const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    if (family === undefined) return 'default';
    return lists.find(({ list }) => list.check(address, family))?.name ?? 'default';
  };
}

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
// Addresses drawn near each other, so ranges and clients often meet.
const nearV6 = fc
  .tuple(fc.constantFrom('2001:db8', 'fd00', '::', 'fe80', '64:ff9b'), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 3 }))
  .map(([head, low, mid]) => (head === '::' ? `::${mid}:${low.toString(16)}` : `${head}:${mid}::${low.toString(16)}`));
const address = fc.oneof(ipv4, nearV6, ipv4.map((v4) => `::ffff:${v4}`), fc.ipV6(), fc.constantFrom('::1', '127.0.0.1', '::', '0.0.0.0', 'fe80::1%eth0', 'not-an-ip', ''));
const network = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, bits]) => `${a}/${bits}`),
  fc.tuple(nearV6, fc.integer({ min: 0, max: 128 })).map(([a, bits]) => `${a}/${bits}`),
  fc.tuple(ipv4, fc.integer({ min: 0, max: 128 })).map(([a, bits]) => `::ffff:${a}/${bits}`),
  fc.constantFrom('::/0', '0.0.0.0/0', '::/64', '::/96', '127.0.0.0/8', '::1/128'),
);

describe('ClientPolicyTable', () => {
  it('accepts exactly the networks the config schema accepts, and matches clients as node:net BlockList did', () => {
    fc.assert(
      fc.property(fc.array(fc.array(network, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }), fc.array(address, { minLength: 1, maxLength: 20 }), (networkLists, clients) => {
        const policies = networkLists.map((networks, i) => ({ name: `p${i}`, networks }));
        // Only what the schema lets through reaches the table.
        expect(dnsConfigSchema.safeParse({ policies: policies.map(({ name, networks }) => ({ name, networks })) }).success).toBe(true);
        const table = new ClientPolicyTable(policies.map(({ name, networks }) => ({ policy: policy(name), networks })), policy('default'));
        const reference = blockListReference(policies);
        for (const client of clients) expect([client, table.forAddress(client).name]).toEqual([client, reference(client)]);
      }),
      { numRuns: 400 },
    );
  });

  it('refuses exactly the networks node:net refused before the schema read them with lib/ip', () => {
    const previous = (value: string) => {
      const [address, bits, extra] = value.split('/');
      const family = net.isIP(address ?? '');
      const max = family === 4 ? 32 : 128;
      return !(family === 0 || extra !== undefined || bits === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > max);
    };
    const bits = fc.oneof(fc.integer({ min: 0, max: 140 }).map(String), fc.constantFrom('08', '000', '', '-1', '1e1', ' 8', '2a'));
    const text = fc.oneof(
      fc.tuple(fc.oneof(ipv4, nearV6, fc.ipV6(), ipv4.map((v4) => `::ffff:${v4}`)), bits).map(([a, b]) => `${a}/${b}`),
      fc.oneof(ipv4, nearV6),
      fc.constantFrom('10.0.0.0/8/8', '010.0.0.0/8', 'fe80::%eth0/64', '1.2.3.4 /8', 'localhost/8', '::ffff:1.2.3/120', '/8'),
    );
    fc.assert(
      fc.property(text, (value) => {
        expect([value, dnsConfigSchema.safeParse({ policies: [{ name: 'p', networks: [value] }] }).success]).toEqual([value, previous(value)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads host bits as cleared and lets an IPv6 range holding ::ffff:0:0/96 cover IPv4, as before', () => {
    const table = new ClientPolicyTable(
      [
        { policy: policy('sloppy'), networks: ['10.0.0.1/8'] },
        { policy: policy('all-v6'), networks: ['::/0'] },
      ],
      policy('default'),
    );
    expect(table.forAddress('10.200.0.1').name).toBe('sloppy');
    expect(table.forAddress('::ffff:10.200.0.1').name).toBe('sloppy');
    expect(table.forAddress('192.0.2.1').name).toBe('all-v6');
    expect(table.forAddress('2001:db8::1').name).toBe('all-v6');
    expect(table.forAddress('not-an-ip').name).toBe('default');
  });
});
