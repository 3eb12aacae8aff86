/**
 * The DNS gateway inside a running Gatehouse: real `dig` against it, a local upstream and a
 * local RDAP registry; lookalikes and young domains blocked with EDE; runtime blocks through the store;
 * the block page over HTTP; DoH with a personal URL; the query log.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digAnswers, digStatus } from '../../src/dns/test-support/dig.js';
import { startUpstreamFixture, type UpstreamFixture } from '../../src/dns/test-support/upstream-fixture.js';
import { startRdapFixture, type RdapFixture } from '../../src/intel/domain-age/test-support/rdap-fixture-server.js';
import { haveCommand } from '../peers.js';
import { freePort, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const haveDig = haveCommand('dig');

describe.runIf(haveDig)('DNS gateway in a running Gatehouse', () => {
  let upstream: UpstreamFixture;
  let rdap: RdapFixture;
  let fx: GatehouseFixture;
  let dnsPort: number;
  let dir: string;
  let hooks: http.Server;
  const alerts: string[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ records: { 'intranet.example.com': [{ type: 'A', data: '198.51.100.7', ttl: 300 }] } });
    rdap = await startRdapFixture();
    const now = Date.now();
    rdap.set('acme-okta.com', { kind: 'registered', registeredAt: now - 40 * 60_000 });
    rdap.set('brand-new-shop.com', { kind: 'registered', registeredAt: now - 2 * 86_400_000 });
    rdap.set('example.com', { kind: 'registered', registeredAt: now - 20 * 365 * 86_400_000 });
    rdap.set('kit-host.net', { kind: 'registered', registeredAt: now - 9 * 365 * 86_400_000 });
    hooks = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        alerts.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    dnsPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-dns-'));
    const listPath = join(dir, 'malware.hosts');
    writeFileSync(listPath, '0.0.0.0 malware.example\n0.0.0.0 tracker.example\n');
    fx = await startFixture({
      dir,
      rdapConnection: rdap.connection,
      extraYaml: `dns:
  enabled: true
  listen: { address: 127.0.0.1, port: ${dnsPort} }
  upstreams: ["127.0.0.1:${upstream.port}"]
  blocklists: [{ name: malware, path: ${listPath} }]
  block_response: block_page
  block_page: { ipv4: 127.0.0.1 }
  classify_budget_ms: 2000
  query_log: { flush_interval_ms: 50 }
  protect:
    brands: [acme]
    domains: [acme.com]
  age:
    rdap_overrides: { com: "${rdap.baseUrl}", net: "${rdap.baseUrl}" }
    young_days: 30
    young_action: block
incident:
  webhook_url: http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook
`,
    });
  });
  afterAll(async () => {
    await fx?.close();
    await upstream?.close();
    await rdap?.close();
    rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => hooks?.close(r));
  });

  it('forwards ordinary names to the upstream', async () => {
    const out = await dig(dnsPort, ['intranet.example.com', 'A']);
    expect(digStatus(out)).toBe('NOERROR');
    expect(digAnswers(out).map((a) => a.data)).toEqual(['198.51.100.7']);
  });

  it('answers a lookalike registered 40 minutes ago with the block page address and an EDE that says why', async () => {
    const out = await dig(dnsPort, ['acme-okta.com', 'A', '+tcp']);
    expect(digAnswers(out).map((a) => a.data)).toEqual(['127.0.0.1']);
    expect(out).toMatch(/EDE: 15 \(Blocked\)/);
    expect(out).toMatch(/acme/);
  });

  it('a query for a lookalike of the protected brand raises an alert on the webhook', async () => {
    await dig(dnsPort, ['acme-helpdesk.com', 'A']);
    // Alerts name the domain defanged (acme-helpdesk[.]com) so a chat client does not make it a link.
    await expect.poll(() => alerts.find((a) => a.includes('acme-helpdesk[.]com')), { timeout: 10_000 }).toBeDefined();
  });

  it('blocks a young domain and lists from files; allows an old domain', async () => {
    expect(digAnswers(await dig(dnsPort, ['brand-new-shop.com', 'A'])).map((a) => a.data)).toEqual(['127.0.0.1']);
    expect(digAnswers(await dig(dnsPort, ['malware.example', 'A'])).map((a) => a.data)).toEqual(['127.0.0.1']);
    expect(digStatus(await dig(dnsPort, ['www.example.com', 'A']))).toBe('NOERROR');
  });

  it('the block page names the domain and the reason in plain words, with no way through', async () => {
    const res = await request(`http://127.0.0.1:${fx.port}/login`, { headers: { host: 'acme-okta.com' } });
    const body = await res.body.text();
    expect(res.statusCode).toBe(403);
    expect(body).toContain('This site is blocked');
    expect(body).toContain('acme-okta.com');
    expect(body).toMatch(/looks like acme/);
    expect(body).toMatch(/registered \d+ minutes ago/);
    expect(body).not.toMatch(/continue anyway|proceed/i);
  });

  it('a domain blocked at run time through the store is refused on the next query', async () => {
    const before = digAnswers(await dig(dnsPort, ['kit-host.net', 'A']));
    expect(before[0]?.data).not.toBe('127.0.0.1');
    await fx.gatehouse.dns.domainBlocks.block(['kit-host.net'], { reason: 'incident 7: kit host', actor: 'test' });
    await fx.gatehouse.feed.pollNow();
    await expect.poll(async () => digAnswers(await dig(dnsPort, ['login.kit-host.net', 'A']))[0]?.data, { timeout: 5000 }).toBe('127.0.0.1');
  });

  it('an incident block answers every client with a generic EDE text and a reference, never the incident title', async () => {
    const id = 'inc-0b7e5d1c-2f4a-4c3e-9d1a-5e6f7a8b9c0d';
    await fx.gatehouse.dns.domainBlocks.block(['payroll-acme.net'], { reason: `incident ${id}: CFO mailbox phished via payroll-acme.net`, actor: `incident:${id}` });
    await fx.gatehouse.feed.pollNow();
    await expect.poll(async () => digAnswers(await dig(dnsPort, ['payroll-acme.net', 'A']))[0]?.data, { timeout: 5000 }).toBe('127.0.0.1');
    for (const transport of ['+notcp', '+tcp']) {
      const out = await dig(dnsPort, ['www.payroll-acme.net', 'A', transport]);
      expect(out).toMatch(/EDE: 15 \(Blocked\)/);
      expect(out).toContain(`Blocked by your organisation's security policy (ref ${id})`);
      expect(out).not.toMatch(/CFO|mailbox|phished/);
    }
    const page = await request(`http://127.0.0.1:${fx.port}/`, { headers: { host: 'payroll-acme.net' } });
    const body = await page.body.text();
    expect(page.statusCode).toBe(403);
    expect(body).toContain(`security policy (ref ${id})`);
    expect(body).not.toMatch(/CFO|mailbox|phished/);
    // Stored for operators as given: the title is in `dns lists` and the audit log, not on the wire.
    expect((await fx.gatehouse.dns.domainBlocks.list()).find((b) => b.name === 'payroll-acme.net')?.reason).toContain('CFO mailbox phished');
  });

  it('an operator block sends the generic text without the operator reason', async () => {
    await fx.gatehouse.dns.domainBlocks.block(['kit-two.example'], { reason: 'ticket 4411: vendor breach', actor: 'cli' });
    await fx.gatehouse.feed.pollNow();
    await expect.poll(async () => digAnswers(await dig(dnsPort, ['kit-two.example', 'A']))[0]?.data, { timeout: 5000 }).toBe('127.0.0.1');
    const out = await dig(dnsPort, ['kit-two.example', 'A']);
    expect(out).toContain("Blocked by your organisation's security policy");
    expect(out).not.toMatch(/ticket|vendor|ref /);
  });

  it('DoH through a personal URL logs the query with the user', async () => {
    const user = await fx.gatehouse.core.identity.users.add({ email: 'doh@acme.test' });
    const token = await fx.gatehouse.dns.dohTokens.issue(user.id);
    const query = dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'acme-okta.com' }] });
    const res = await request(`http://127.0.0.1:${fx.port}/dns-query/${token}`, {
      method: 'POST',
      headers: { host: fx.portalHost, 'content-type': 'application/dns-message', accept: 'application/dns-message' },
      body: query,
    });
    expect(res.statusCode).toBe(200);
    const answer = dnsPacket.decode(Buffer.from(await res.body.arrayBuffer()));
    expect(answer.answers?.[0]).toMatchObject({ type: 'A', data: '127.0.0.1' });
    const bad = await request(`http://127.0.0.1:${fx.port}/dns-query/${'x'.repeat(43)}`, {
      method: 'POST',
      headers: { host: fx.portalHost, 'content-type': 'application/dns-message' },
      body: query,
    });
    expect(bad.statusCode).toBe(401);
    await bad.body.dump();
    await fx.gatehouse.dns.queryLog.flush();
    const rows = await fx.gatehouse.core.store.db.selectFrom('dns_queries').selectAll().where('user_id', '=', user.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'acme-okta.com', type: 'A', verdict: 'block', protocol: 'doh' });
  });

  it('DoH answers other HTTP methods 405 with Allow: GET, POST, on the shared and the personal path (RFC 8484 §4.1)', async () => {
    const user = await fx.gatehouse.core.identity.users.add({ email: 'doh-methods@acme.test' });
    const token = await fx.gatehouse.dns.dohTokens.issue(user.id);
    for (const path of ['/dns-query', `/dns-query/${token}`]) {
      for (const method of ['PUT', 'DELETE', 'PATCH'] as const) {
        const res = await request(`http://127.0.0.1:${fx.port}${path}`, { method, headers: { host: fx.portalHost, 'content-type': 'application/dns-message' }, body: Buffer.alloc(12) });
        expect([method, path, res.statusCode, res.headers.allow]).toEqual([method, path, 405, 'GET, POST']);
        await res.body.dump();
      }
    }
  });
});
