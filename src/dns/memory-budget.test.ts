import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config/index.js';
import { dnsConfigSchema } from '../config/index.js';
import { createDnsGateway, type DnsGateway } from './index.js';
import { MEMORY_SHARES, splitMemoryBudget } from './memory-budget.js';
import { startUpstreamFixture, type UpstreamFixture } from './test-support/upstream-fixture.js';

const base = `server:
  portal_host: sso.acme.localhost
  http: { port: 8080 }
webauthn:
  rp_id: acme.localhost
  origins: ["http://sso.acme.localhost:8080"]
`;

function configProblems(dns: string): string {
  try {
    parseConfig(`${base}dns:\n${dns}`, 'gatehouse.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('dns.memory_budget_mb', () => {
  it('splits the budget in the documented shares, which add up to the whole', () => {
    expect(Object.values(MEMORY_SHARES).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const split = splitMemoryBudget(64);
    expect(split.answerCacheBytes + split.hotAnswerBytes + split.verdictMemoBytes + split.queryLogBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(split.answerCacheBytes).toBe(Math.floor(64 * 1024 * 1024 * 0.55));
    expect(dnsConfigSchema.parse({}).memory_budget_mb).toBe(64);
  });

  it('refuses a budget out of range or not a whole number, naming the key', () => {
    expect(configProblems('  memory_budget_mb: 0\n')).toMatch(/^dns\.memory_budget_mb: /m);
    expect(configProblems('  memory_budget_mb: 100000\n')).toMatch(/^dns\.memory_budget_mb: /m);
    expect(configProblems('  memory_budget_mb: 1.5\n')).toMatch(/^dns\.memory_budget_mb: /m);
    expect(configProblems('  memory_budget_mb: "64MB"\n')).toMatch(/^dns\.memory_budget_mb: /m);
  });
});

describe('a random-subdomain flood stays within the budget', () => {
  let upstream: UpstreamFixture;
  let gateway: DnsGateway;
  let port: number;
  const registry = new Registry();

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ records: { 'www.example.test': [{ type: 'A', data: '198.51.100.7', ttl: 3600 }] }, nxdomainSuffix: 'victim.test' });
    gateway = createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { address: '127.0.0.1', port: 0, udp: true, tcp: false }, upstreams: [`127.0.0.1:${upstream.port}`],
        memory_budget_mb: 1,
      }),
      classify: () => ({ action: 'allow' }),
      registry,
    });
    port = (await gateway.start()).udpPort!;
  });
  afterAll(async () => {
    await gateway.stop();
    await upstream.close();
  });

  /** Sends the names over UDP, `parallel` at a time, and resolves with each reply's RCODE. */
  async function ask(names: string[], parallel = 32): Promise<number[]> {
    const socket = dgram.createSocket('udp4');
    const waiting = new Map<number, (rcode: number) => void>();
    socket.on('message', (reply) => waiting.get(reply.readUInt16BE(0))?.(reply[3]! & 0x0f));
    const rcodes: number[] = [];
    try {
      for (let start = 0; start < names.length; start += parallel) {
        const batch = names.slice(start, start + parallel);
        rcodes.push(...await Promise.all(batch.map((name, i) => new Promise<number>((resolve) => {
          const id = (start + i) & 0xffff;
          waiting.set(id, resolve);
          socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] }), port, '127.0.0.1');
        }))));
      }
    } finally {
      socket.close();
    }
    return rcodes;
  }

  it('caches the NXDOMAIN answers (RFC 2308) but holds no structure above its share, evicting the least recently used', async () => {
    const split = splitMemoryBudget(1);
    const flood = Array.from({ length: 3_000 }, (_, k) => `q${k}z${(k * 48271 % 65521).toString(36)}.victim.test`);
    for (let part = 0; part < flood.length; part += 300) {
      expect(await ask(flood.slice(part, part + 300))).toEqual(Array(300).fill(3));
      // The popular name, asked now and then during the flood.
      expect(await ask(['www.example.test'])).toEqual([0]);
    }
    const { memory } = gateway.listState();
    expect(memory.answer_cache!.bytes).toBeLessThanOrEqual(split.answerCacheBytes);
    expect(memory.hot_answers!.bytes).toBeLessThanOrEqual(split.hotAnswerBytes);
    expect(memory.verdict_memo!.bytes).toBeLessThanOrEqual(split.verdictMemoBytes);
    expect(memory.answer_cache!.evictions).toBeGreaterThan(1_000);
    expect(memory.hot_answers!.evictions).toBeGreaterThan(1_000);
    expect(memory.verdict_memo!.evictions).toBeGreaterThan(1_000);
    // The last names of the flood are answered from the cache; the popular one survived it.
    const upstreamQueries = upstream.queries.length;
    expect(await ask([flood.at(-1)!, 'www.example.test'])).toEqual([3, 0]);
    expect(upstream.queries.length).toBe(upstreamQueries);

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/gatehouse_dns_memory_bytes\{structure="answer_cache"\} [1-9]\d*/);
    expect(metrics).toMatch(/gatehouse_dns_memory_budget_bytes\{structure="answer_cache"\} 576716/);
    expect(metrics).toMatch(/gatehouse_dns_memory_evictions_total\{structure="hot_answers"\} [1-9]\d*/);
  });
});
