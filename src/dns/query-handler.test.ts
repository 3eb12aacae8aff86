import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsConfigSchema } from '../config/sections/dns.js';
import { createDnsGateway, type ClientContext, type DnsGateway, type QueryLogEntry, type Verdict } from './index.js';
import { startUpstreamFixture, type UpstreamFixture } from './test-support/upstream-fixture.js';

const ask = (gateway: DnsGateway, name: string, remoteAddress = '127.0.0.1', type: 'A' | 'TXT' = 'A') =>
  gateway.handleDohRequest({
    method: 'POST', headers: { 'content-type': 'application/dns-message' }, remoteAddress,
    body: dnsPacket.encode({ type: 'query', id: 0, questions: [{ name, type }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer] }),
  });
const rcodeOf = (body: Buffer) => body[3]! & 0x0f;

/** The EDE option (RFC 8914) in the reply's OPT record, decoded by hand: code 15, INFO-CODE, text. */
function extendedError(body: Buffer): { infoCode: number; text: string } | undefined {
  const opt = dnsPacket.decode(body).additionals?.find((r) => r.type === 'OPT') as { options?: { code: number; data?: Buffer }[] } | undefined;
  const ede = opt?.options?.find((o) => o.code === 15);
  return ede?.data ? { infoCode: ede.data.readUInt16BE(0), text: ede.data.subarray(2).toString() } : undefined;
}

describe('query pipeline: verdict hook, policies, metrics', () => {
  let upstream: UpstreamFixture;
  let gateway: DnsGateway;
  const registry = new Registry();
  const log: QueryLogEntry[] = [];
  const seen: ClientContext[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture();
    const classify = (name: string, client: ClientContext): Verdict | Promise<Verdict> => {
      seen.push(client);
      if (name === 'slow.test') return new Promise<Verdict>(() => undefined);
      if (name === 'broken.test') throw new Error('detector bug');
      if (name === 'rejects.test') return Promise.reject(new Error('rdap down'));
      if (name === 'young.test') return Promise.resolve({ action: 'block', reasons: [{ code: 'young_domain' }], humanReason: 'registered 40 minutes ago', infoCode: 17 });
      if (name === 'warn.test') return { action: 'warn', reasons: [{ code: 'young_domain' }] };
      return { action: 'allow' };
    };
    gateway = createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { port: 0, udp: false, tcp: false }, upstreams: [`127.0.0.1:${upstream.port}`], classify_budget_ms: 50,
        default_mode: 'refuse',
        policies: [
          { name: 'office', networks: ['10.1.0.0/16', '127.0.0.0/8'] },
          { name: 'lab', networks: ['fd00::/8'], mode: 'passthrough' },
        ],
      }),
      classify, registry, onQuery: (entry) => log.push(entry),
    });
    await gateway.start();
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('allows when the asynchronous check overruns its budget, and says so in the log', async () => {
    const reply = await ask(gateway, 'slow.test');
    expect(rcodeOf(reply.body)).toBe(0);
    expect(log.at(-1)).toMatchObject({ name: 'slow.test', verdict: 'allow', reason: 'classify:classify_timeout' });
  });

  it('blocks when the hook throws or rejects (fail closed)', async () => {
    for (const name of ['broken.test', 'rejects.test']) {
      const reply = await ask(gateway, name);
      expect(rcodeOf(reply.body)).toBe(3);
      expect(log.at(-1)).toMatchObject({ name, verdict: 'block', reason: 'classify:classify_error' });
    }
  });

  it('uses an asynchronous block verdict, its INFO-CODE and reason text', async () => {
    const reply = await ask(gateway, 'young.test');
    expect(rcodeOf(reply.body)).toBe(3);
    expect(extendedError(reply.body)).toEqual({ infoCode: 17, text: 'registered 40 minutes ago' });
    expect(seen.at(-1)).toMatchObject({ protocol: 'doh', policy: 'office', address: '127.0.0.1' });
  });

  it('resolves a warn verdict and logs it as a warning', async () => {
    expect(rcodeOf((await ask(gateway, 'warn.test')).body)).toBe(0);
    expect(log.at(-1)).toMatchObject({ verdict: 'warn', reason: 'classify:young_domain' });
  });

  it('refuses clients outside every policy, and skips filtering for passthrough networks', async () => {
    const refused = await ask(gateway, 'anything.test', '192.0.2.55');
    expect(rcodeOf(refused.body)).toBe(5);
    expect(log.at(-1)).toMatchObject({ verdict: 'refused', reason: 'policy_refuse', policy: 'default' });
    const before = seen.length;
    expect(rcodeOf((await ask(gateway, 'broken.test', 'fd00::1')).body)).toBe(0);
    expect(seen.length).toBe(before);
    expect(log.at(-1)).toMatchObject({ policy: 'lab', reason: 'passthrough' });
    // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
    await ask(gateway, 'www.test', '::ffff:10.1.2.3');
    expect(log.at(-1)).toMatchObject({ policy: 'office' });
  });

  it('exposes counters on the injected prom-client registry', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/gatehouse_dns_queries_total\{protocol="doh"\} \d+/);
    expect(text).toMatch(/gatehouse_dns_blocked_total\{reason="classify:classify_error"\} 2/);
    expect(text).toMatch(/gatehouse_dns_responses_total\{rcode="REFUSED"\} 1/);
    expect(text).toMatch(/gatehouse_dns_upstream_latency_seconds_count [1-9]/);
  });
});
