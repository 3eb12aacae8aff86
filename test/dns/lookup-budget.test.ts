/**
 * The per-client RDAP lookup budget through the real composition (buildDns + buildDomainIntel + a SQLite
 * store), over real UDP from distinct loopback source addresses, against a local RDAP registry. The
 * threat: a client floods random names so that the phishing domain's age check comes back "unknown"
 * and is allowed for everyone.
 */
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsConfigSchema } from '../../src/config/index.js';
import { buildDns, type DnsLayer } from '../../src/dns/index.js';
import { startUpstreamFixture, type UpstreamFixture } from '../../src/dns/test-support/upstream-fixture.js';
import { buildDomainIntel } from '../../src/intel/index.js';
import { startRdapFixture, type RdapFixture } from '../../src/intel/domain-age/test-support/rdap-fixture-server.js';
import { cryptoRandom } from '../../src/lib/random.js';
import { openCoreFixture, type CoreFixture } from '../support/core-fixture.js';

const MINUTE = 60_000;

/** One A query over UDP from `source` (any 127/8 address is loopback on Linux). */
async function queryFrom(source: string, port: number, name: string): Promise<{ rcode: number; packet: dnsPacket.Packet }> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: source, port: 0 }, () => resolve());
    });
    const reply = new Promise<Buffer>((resolve, reject) => {
      socket.once('message', (message) => resolve(message));
      socket.once('error', reject);
    });
    socket.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), port, '127.0.0.1');
    const bytes = await reply;
    return { rcode: bytes[3]! & 0x0f, packet: dnsPacket.decode(bytes) };
  } finally {
    socket.close();
  }
}

describe('per-client RDAP lookup budget, end to end', () => {
  let fx: CoreFixture;
  let rdap: RdapFixture;
  let upstream: UpstreamFixture;
  let dns: DnsLayer;
  let port: number;

  beforeAll(async () => {
    fx = await openCoreFixture();
    rdap = await startRdapFixture();
    const records: Record<string, { type: 'A'; data: string; ttl: number }[]> = { 'login.payroll-update.com': [{ type: 'A', data: '192.0.2.66', ttl: 300 }] };
    for (let i = 0; i < 5; i++) records[`flood-${i}.com`] = [{ type: 'A', data: '192.0.2.1', ttl: 300 }];
    upstream = await startUpstreamFixture({ records });
    const config = dnsConfigSchema.parse({
      enabled: true,
      listen: { address: '127.0.0.1', port: 0, tcp: false },
      upstreams: [`127.0.0.1:${upstream.port}`],
      classify_budget_ms: 5000,
      query_log: { enabled: false },
      age: {
        rdap_overrides: { com: rdap.baseUrl },
        bootstrap_url: `${rdap.origin}/no-bootstrap.json`,
        time_budget_ms: 5000,
        young_action: 'block',
        on_unknown: 'allow',
        client_lookups_per_window: 2,
      },
    });
    const logger = pino({ level: 'silent' });
    dns = await buildDns({
      config,
      intel: buildDomainIntel({ dns: config, store: fx.core.store, clock: fx.clock, logger, rdapConnection: rdap.connection }),
      store: fx.core.store,
      audit: fx.core.audit,
      keptDomains: () => [],
      clock: fx.clock,
      random: cryptoRandom,
      logger,
      registry: new Registry(),
    });
    port = dns.ports.udp!;
  });
  afterAll(async () => {
    await dns?.stop();
    await upstream?.close();
    await rdap?.close();
    await fx?.close();
  });

  it('a flooding client cannot make a young domain "unknown" for the next client', async () => {
    for (let i = 0; i < 5; i++) rdap.set(`flood-${i}.com`, { kind: 'registered', registeredAt: Date.UTC(2005, 0, 1) });
    rdap.set('payroll-update.com', { kind: 'registered', registeredAt: fx.clock.now() - 30 * MINUTE });
    for (let i = 0; i < 5; i++) await queryFrom('127.0.0.2', port, `flood-${i}.com`);
    expect(rdap.hits('flood-2.com')).toBe(0);

    // Over its budget, the attacker's own query for the phishing name gets on_unknown (allow) without a lookup...
    const attacker = await queryFrom('127.0.0.2', port, 'login.payroll-update.com');
    expect(attacker.rcode).toBe(0);
    expect(attacker.packet.answers?.[0]).toMatchObject({ data: '192.0.2.66' });
    expect(rdap.hits('payroll-update.com')).toBe(0);

    // ...which is not remembered for the name: the victim's query starts the lookup and is blocked.
    const victim = await queryFrom('127.0.0.3', port, 'login.payroll-update.com');
    expect(victim.rcode).toBe(3); // NXDOMAIN: blocked
    expect(rdap.hits('payroll-update.com')).toBe(1);
  });
});
