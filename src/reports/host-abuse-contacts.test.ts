import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamFixture, type UpstreamFixture } from '../dns/test-support/upstream-fixture.js';
import { lookupAbuseContacts } from './abuse-contacts.js';
import { lookupHostAbuseContacts } from './host-abuse-contacts.js';
import { parseIpRdapBootstrap, shippedIpRdapBootstrap } from './ip-rdap-bootstrap.js';
import { createLureResolver } from './resolve-lure-addresses.js';
import { openReportsFixture, type ReportsFixture } from './test-support/reports-fixture.js';

/**
 * The host's abuse contact: the lure resolved by a real DNS server (a local authoritative fixture),
 * each public address asked of the RIR's RDAP server (a local fixture named by an IP bootstrap), the
 * `abuse` entity found even nested under the network's organisation, and the draft carrying the
 * resolved addresses beside the registrar's contact. A private address is never looked up; the SSRF
 * guard refuses the loopback fixture unless a test opens it.
 */
describe('host abuse contacts (IP RDAP)', () => {
  let f: ReportsFixture;
  let dns: UpstreamFixture;
  const ARIN_STYLE = {
    objectClassName: 'ip network',
    handle: 'NET-185-199-108-0-1',
    name: 'CHEAPHOST-1',
    startAddress: '185.199.108.0',
    endAddress: '185.199.108.255',
    entities: [
      {
        objectClassName: 'entity',
        roles: ['registrant'],
        vcardArray: ['vcard', [['fn', {}, 'text', 'Cheap Host Ltd']]],
        entities: [{ objectClassName: 'entity', roles: ['abuse'], vcardArray: ['vcard', [['fn', {}, 'text', 'Abuse'], ['email', {}, 'text', 'Abuse@CheapHost.example']]] }],
      },
    ],
  };
  const RIPE_STYLE = { objectClassName: 'ip network', handle: '2A00:1450::/32', name: 'V6HOST', entities: [{ roles: ['abuse'], vcardArray: ['vcard', [['email', {}, 'text', 'abuse@v6host.example']]] }] };

  beforeAll(async () => {
    f = await openReportsFixture();
    dns = await startUpstreamFixture({
      records: {
        'acme-payroll.com': [
          { type: 'A', data: '185.199.108.9', ttl: 60 },
          { type: 'AAAA', data: '2a00:1450::9', ttl: 60 },
        ],
        'inside-lure.com': [{ type: 'A', data: '10.1.2.3', ttl: 60 }],
      },
      nxdomainSuffix: 'com',
    });
    f.rdap.setFile('/rdap/ip/185.199.108.9', 200, JSON.stringify(ARIN_STYLE), 'application/rdap+json');
    f.rdap.setFile(`/rdap/ip/${encodeURIComponent('2a00:1450::9')}`, 200, JSON.stringify(RIPE_STYLE), 'application/rdap+json');
  });
  afterAll(async () => {
    await dns?.close();
    await f?.close();
  });

  const resolve = () => createLureResolver({ servers: [`127.0.0.1:${dns.port}`], timeoutMs: 2000 });
  const bootstrap = () => parseIpRdapBootstrap([{ services: [[['185.0.0.0/8', '2a00::/12'], [f.rdap.baseUrl]]] }]);

  it('finds the hosting networks\' abuse contacts of every address the lure resolves to', async () => {
    const host = await lookupHostAbuseContacts('acme-payroll.com', { resolve: resolve(), bootstrap: bootstrap(), timeoutMs: 5000, connection: f.rdap.connection });
    expect(host.addresses.sort()).toEqual(['185.199.108.9', '2a00:1450::9']);
    expect(host.contacts).toEqual(
      expect.arrayContaining([
        { role: 'host', email: 'abuse@cheaphost.example', name: 'Abuse', address: '185.199.108.9', network: 'CHEAPHOST-1 NET-185-199-108-0-1' },
        { role: 'host', email: 'abuse@v6host.example', address: '2a00:1450::9', network: 'V6HOST 2A00:1450::/32' },
      ]),
    );
    expect(host.sources.every((s) => s.error === undefined)).toBe(true);
  });

  it('the SSRF guard stays on by default: the loopback RDAP fixture is refused, no contact invented', async () => {
    const host = await lookupHostAbuseContacts('acme-payroll.com', { resolve: resolve(), bootstrap: bootstrap(), timeoutMs: 5000 });
    expect(host.contacts).toEqual([]);
    expect(host.sources.map((s) => s.error)).toEqual([expect.stringMatching(/^non_public_address/), expect.stringMatching(/^non_public_address/)]);
  });

  it('a lure pointed at a private address is reported, never looked up; one that does not resolve says so', async () => {
    const before = f.rdap.totalRequests;
    const inside = await lookupHostAbuseContacts('inside-lure.com', { resolve: resolve(), bootstrap: bootstrap(), timeoutMs: 5000, connection: f.rdap.connection });
    expect(inside).toMatchObject({ addresses: ['10.1.2.3'], contacts: [], sources: [{ address: '10.1.2.3', error: expect.stringContaining('not a public address') }] });
    const gone = await lookupHostAbuseContacts('gone-lure.com', { resolve: resolve(), bootstrap: bootstrap(), timeoutMs: 5000, connection: f.rdap.connection });
    expect(gone).toMatchObject({ addresses: [], sources: [{ error: 'gone-lure.com does not resolve' }] });
    expect(f.rdap.totalRequests).toBe(before);
  });

  it('the shipped IANA IP bootstrap names each RIR by longest prefix; a malformed bootstrap is refused naming the entry', () => {
    const shipped = shippedIpRdapBootstrap();
    expect(shipped.baseUrlFor('8.8.8.8')).toBe('https://rdap.arin.net/registry/');
    expect(shipped.baseUrlFor('193.0.6.139')).toBe('https://rdap.db.ripe.net/');
    expect(shipped.baseUrlFor('1.1.1.1')).toBe('https://rdap.apnic.net/');
    expect(shipped.baseUrlFor('41.0.0.1')).toBe('https://rdap.afrinic.net/rdap/');
    expect(shipped.baseUrlFor('200.160.2.3')).toBe('https://rdap.lacnic.net/rdap/');
    expect(shipped.baseUrlFor('2001:67c:2e8:22::c100:68b')).toBe('https://rdap.db.ripe.net/');
    expect(shipped.baseUrlFor('2606:4700:4700::1111')).toBe('https://rdap.arin.net/registry/');
    expect(shipped.baseUrlFor('10.0.0.1')).toBeUndefined();
    const nested = parseIpRdapBootstrap([{ services: [[['2001::/16'], ['https://wide.example/']], [['2001:4200::/23'], ['https://narrow.example/']]] }]);
    expect(nested.baseUrlFor('2001:4200::1')).toBe('https://narrow.example/');
    expect(() => parseIpRdapBootstrap([{ services: [[['10.0.0.1/8'], ['https://x.example/']]] }])).toThrow(/services\[0\].*10\.0\.0\.1\/8/);
    expect(() => parseIpRdapBootstrap([{ nope: true }])).toThrow('"services" must be an array');
  });

  it('the abuse report is drafted to the registrar and the host, with the resolved addresses', async () => {
    for (const who of ['ann@acme.com', 'bob@acme.com']) await f.reports.submit({ source: 'portal', reporter: who, body: 'Acme: https://login.acme-payroll.com/v' });
    const group = (await f.reports.groups()).find((g) => g.domain === 'acme-payroll.com')!;
    f.rdap.set('acme-payroll.com', {
      kind: 'raw',
      contentType: 'application/rdap+json',
      body: JSON.stringify({ objectClassName: 'domain', ldhName: 'acme-payroll.com', entities: [{ roles: ['registrar'], entities: [{ roles: ['abuse'], vcardArray: ['vcard', [['email', {}, 'text', 'abuse@cheapnames.example']]] }] }] }),
    });
    const registrar = await lookupAbuseContacts('acme-payroll.com', { rdapOverrides: { com: f.rdap.baseUrl }, timeoutMs: 5000, connection: f.rdap.connection });
    const host = await lookupHostAbuseContacts('acme-payroll.com', { resolve: resolve(), bootstrap: bootstrap(), timeoutMs: 5000, connection: f.rdap.connection });
    const contacts = [...('contacts' in registrar ? registrar.contacts : []), ...host.contacts];
    expect(await f.reports.draftAbuseReports(group.id, contacts, 'cli', { addresses: host.addresses })).toBe(3);
    const drafts = (await f.reports.repository.messages({ groupId: group.id })).filter((m) => m.kind === 'abuse_report');
    expect(drafts.map((d) => d.recipient).sort()).toEqual(['abuse@cheaphost.example', 'abuse@cheapnames.example', 'abuse@v6host.example']);
    expect(drafts[0]!.body).toMatch(/^Resolved addresses \(.+\): (185\.199\.108\.9, 2a00:1450::9|2a00:1450::9, 185\.199\.108\.9)$/m);
  });
});
