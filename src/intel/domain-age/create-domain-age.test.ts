import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsAgeSchema } from '../../config/index.js';
import { ManualClock } from '../../lib/clock.js';
import { createDomainAge } from './create-domain-age.js';
import type { BootstrapRefreshResult } from './rdap-bootstrap-source.js';
import { startRdapFixture, type RdapFixture } from './test-support/rdap-fixture-server.js';

let fixture: RdapFixture;
beforeAll(async () => {
  fixture = await startRdapFixture();
});
afterAll(async () => {
  await fixture.close();
});

describe('createDomainAge (wiring from the dns_age config section)', () => {
  it('starts from the shipped snapshot, refreshes bootstrap and feeds on start, and stops cleanly', async () => {
    // A downloaded bootstrap that sends .example to the local fixture.
    fixture.setFile(
      '/dns.json',
      200,
      JSON.stringify({ version: '1.0', publication: '2026-09-01T00:00:00Z', services: [[['example'], [fixture.baseUrl]]] }),
      'application/json',
    );
    fixture.setFile('/nrd.txt', 200, 'brand-new.example\n');
    fixture.set('brand-new.example', { kind: 'no_events' });
    const clock = new ManualClock();
    const refreshed: BootstrapRefreshResult[] = [];
    const config = dnsAgeSchema.parse({
      bootstrap_url: `${fixture.origin}/dns.json`,
      nrd_feeds: { sources: [`${fixture.origin}/nrd.txt`] },
    });
    const domainAge = createDomainAge({ config, clock, rdapConnection: fixture.connection, onBootstrapRefresh: (result) => refreshed.push(result) });
    expect(domainAge.bootstrap.current().baseUrlFor('x.com')).toBe('https://rdap.verisign.com/com/v1/');
    expect(domainAge.bootstrap.current().baseUrlFor('x.example')).toBeUndefined();

    domainAge.start();
    await domainAge.nrdRefresher.refreshAll();
    await domainAge.bootstrap.refresh();
    expect(refreshed.some((result) => result.ok)).toBe(true);
    expect(domainAge.bootstrap.current().baseUrlFor('x.example')).toBe(fixture.baseUrl);

    const facts = await domainAge.service.lookup('www.brand-new.example');
    expect(facts).toMatchObject({ rdap: { status: 'no_registration_date' }, nrd: { source: `${fixture.origin}/nrd.txt` } });
    await domainAge.stop();
    expect(domainAge.service.inFlight).toBe(0);
  });

  it('does not fetch anything on start when disabled', async () => {
    const before = fixture.totalRequests;
    const config = dnsAgeSchema.parse({ enabled: false, bootstrap_url: `${fixture.origin}/dns.json`, nrd_feeds: { sources: [`${fixture.origin}/nrd.txt`] } });
    const domainAge = createDomainAge({ config, clock: new ManualClock() });
    domainAge.start();
    await domainAge.stop();
    expect(fixture.totalRequests).toBe(before);
  });
});
