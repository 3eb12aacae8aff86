import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsConfigSchema } from '../config/index.js';
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
        // Clients from other networks reach the pipeline here over DoH without a token.
        doh_allow_anonymous: true,
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

/** A request with the given OPCODE, one question and optionally an OPT record, written by hand. */
function requestWithOpcode(opcode: number, options: { edns?: { dnssecOk: boolean; version?: number }; qtype?: number } = {}): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0xbeef, 0);
  header.writeUInt16BE((opcode << 11) | 0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(options.edns ? 1 : 0, 10);
  const question = Buffer.from([7, ...Buffer.from('Example'), 4, ...Buffer.from('test'), 0, 0, options.qtype ?? 6, 0, 1]);
  const parts = [header, question];
  if (options.edns) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(1232, 3);
    opt[6] = options.edns.version ?? 0;
    opt[7] = options.edns.dnssecOk ? 0x80 : 0;
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

describe('opcodes other than QUERY (RFC 1035 §4.1.1, RFC 6891 §7)', () => {
  let upstream: UpstreamFixture;
  let gateway: DnsGateway;
  const registry = new Registry();
  const post = (body: Buffer) => gateway.handleDohRequest({ method: 'POST', headers: { 'content-type': 'application/dns-message' }, remoteAddress: '127.0.0.1', body });

  beforeAll(async () => {
    upstream = await startUpstreamFixture();
    gateway = createDnsGateway({
      config: dnsConfigSchema.parse({ enabled: true, listen: { port: 0, udp: false, tcp: false }, upstreams: [`127.0.0.1:${upstream.port}`] }),
      registry,
    });
    await gateway.start();
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('answers STATUS, NOTIFY, UPDATE and an unassigned opcode with NOTIMP, echoing ID, opcode, question and OPT', async () => {
    for (const opcode of [2, 4, 5, 3, 15]) {
      const request = requestWithOpcode(opcode, { edns: { dnssecOk: true } });
      const reply = (await post(request)).body;
      expect(reply.readUInt16BE(0)).toBe(0xbeef);
      expect((reply[2]! >> 3) & 0x0f).toBe(opcode);
      expect(reply[2]! & 0x80).toBe(0x80); // QR
      expect(rcodeOf(reply)).toBe(4);
      expect([reply.readUInt16BE(4), reply.readUInt16BE(6), reply.readUInt16BE(8), reply.readUInt16BE(10)]).toEqual([1, 0, 0, 1]);
      // The question is echoed byte for byte, letter case included.
      expect(reply.subarray(12, 12 + 18)).toEqual(request.subarray(12, 12 + 18));
      const opt = dnsPacket.decode(reply).additionals?.[0] as { type: string; udpPayloadSize: number; flags: number; ednsVersion: number } | undefined;
      expect(opt).toMatchObject({ type: 'OPT', udpPayloadSize: 1232, ednsVersion: 0, flags: dnsPacket.DNSSEC_OK });
    }
  });

  it('answers NOTIMP without OPT when the request had none, and BADVERS when its EDNS version is unknown', async () => {
    const plain = (await post(requestWithOpcode(4))).body;
    expect(rcodeOf(plain)).toBe(4);
    expect((plain[2]! >> 3) & 0x0f).toBe(4);
    expect(plain.readUInt16BE(10)).toBe(0);
    expect(plain.length).toBe(12 + 18);
    const future = (await post(requestWithOpcode(5, { edns: { dnssecOk: false, version: 1 } }))).body;
    // RFC 6891 §6.1.3: BADVERS is 16, the low 4 bits 0 in the header and the upper 8 bits (1) in the OPT TTL.
    expect(rcodeOf(future)).toBe(0);
    expect(future[future.length - 11 + 5]).toBe(1);
    expect((future[2]! >> 3) & 0x0f).toBe(5);
  });

  it('counts NOTIMP and BADVERS under their own rcode names', async () => {
    const before = gateway.listState().metrics;
    await post(requestWithOpcode(2));
    await post(requestWithOpcode(0, { edns: { dnssecOk: false, version: 3 } }));
    const after = gateway.listState().metrics;
    expect(after.notimp - before.notimp).toBe(1);
    expect(after.badvers - before.badvers).toBe(1);
    expect(after.formerr).toBe(before.formerr);
    const text = await registry.metrics();
    expect(text).toMatch(/gatehouse_dns_responses_total\{rcode="NOTIMP"\} [1-9]/);
    expect(text).toMatch(/gatehouse_dns_responses_total\{rcode="BADVERS"\} [1-9]/);
    expect(text).toMatch(/gatehouse_dns_responses_total\{rcode="FORMERR"\} 0/);
  });
});
