/**
 * The unknown-Host page must not start registration-date lookups: a Host header is anyone's to choose,
 * and a flood of random names through it would spend the registries' rate limits and the shared
 * lookup capacity that the DNS gateway needs for real queries. Real gateway, real domain intel, a real
 * RDAP server on loopback, in-process HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsConfigSchema } from '../config/index.js';
import { createDnsGateway, type DnsGateway } from '../dns/index.js';
import { startUpstreamFixture, type UpstreamFixture } from '../dns/test-support/upstream-fixture.js';
import { buildDomainIntel, type DomainIntel } from '../intel/index.js';
import { startRdapFixture, type RdapFixture } from '../intel/domain-age/test-support/rdap-fixture-server.js';
import { ManualClock } from '../lib/clock.js';
import { handleUnknownHost } from './handle-unknown-host.js';

const MINUTE = 60_000;

describe('unknown Host header', () => {
  const clock = new ManualClock(Date.UTC(2026, 7, 20, 9, 0, 0));
  let rdap: RdapFixture;
  let upstream: UpstreamFixture;
  let intel: DomainIntel;
  let gateway: DnsGateway;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    rdap = await startRdapFixture();
    upstream = await startUpstreamFixture({ records: { 'acme-okta.com': [{ type: 'A', data: '192.0.2.10', ttl: 60 }] } });
    const dns = dnsConfigSchema.parse({
      enabled: true,
      listen: { port: 0, udp: false, tcp: false },
      upstreams: [`127.0.0.1:${upstream.port}`],
      classify_budget_ms: 5000,
      protect: { brands: ['acme'], domains: ['acme.com'] },
      age: { rdap_overrides: { com: rdap.baseUrl }, time_budget_ms: 5000 },
    });
    intel = buildDomainIntel({ dns, clock, rdapConnection: rdap.connection });
    gateway = createDnsGateway({
      config: dns,
      clock,
      classify: (name) => intel.classifier.classify(name, 'ip:127.0.0.1'),
      classifyKnown: (name) => intel.classifier.classifyKnown(name),
    });
    await gateway.start();
    server = createServer((req, res) => {
      if (!handleUnknownHost(req, res, { portalUrl: () => 'https://portal.acme.test', organisation: () => 'Acme', explain: gateway.explain })) res.end('portal');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await gateway?.stop();
    await intel?.stop();
    await upstream?.close();
    await rdap?.close();
  });

  const visit = async (host: string) => {
    const res = await request(`${origin}/login`, { headers: { host } });
    return { status: res.statusCode, body: await res.body.text() };
  };

  it('a flood of random names gets the generic page and starts no RDAP lookup', async () => {
    for (let i = 0; i < 50; i++) rdap.set(`random-${i}.com`, { kind: 'registered', registeredAt: clock.now() - MINUTE });
    for (let i = 0; i < 50; i++) {
      const page = await visit(`random-${i}.com`);
      expect(page.status).toBe(421);
      expect(page.body).toContain('There is nothing at this address');
    }
    await intel.stop();
    expect(rdap.totalRequests).toBe(0);
  });

  it('a lookalike nobody queried yet gets the block page from its letters, still without a lookup', async () => {
    const page = await visit('acme-payroll.com');
    expect(page.status).toBe(403);
    expect(page.body).toMatch(/looks like acme/);
    expect(page.body).not.toMatch(/registered/);
    await intel.stop();
    expect(rdap.hits('acme-payroll.com')).toBe(0);
  });

  it('a name the DNS path judged gets the block page with what it learned', async () => {
    rdap.set('acme-okta.com', { kind: 'registered', registeredAt: clock.now() - 40 * MINUTE });
    const query = dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'acme-okta.com' }] });
    const reply = await gateway.handleDohRequest({ method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: query, remoteAddress: '127.0.0.1' });
    expect(reply.status).toBe(200);
    expect(rdap.hits('acme-okta.com')).toBe(1);
    const page = await visit('login.acme-okta.com');
    expect(page.status).toBe(403);
    expect(page.body).toMatch(/looks like acme; registered 40 minutes ago/);
    expect(rdap.hits('acme-okta.com')).toBe(1);
  });
});
