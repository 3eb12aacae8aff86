import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dnsConfigSchema } from '../config/index.js';
import { ManualClock } from '../lib/clock.js';
import { buildNameSet } from './blocklist-store.js';
import type { ClientPolicy } from './client-policies.js';
import { DomainHasher } from './domain-hash.js';
import { HotAnswer, HotAnswerTable } from './hot-answers.js';
import { createDnsGateway, type ClientContext, type DnsGateway, type QueryLogEntry, type Verdict } from './index.js';
import { newCacheEntry } from './response-cache.js';
import { readUpstreamAnswer } from './upstream-answer.js';
import { startUpstreamFixture, type UpstreamFixture } from './test-support/upstream-fixture.js';

const TOKEN = 'alice-token-0123456789';

/** A query in wire form with the letter case given (0x20 resolvers mix it), optionally with EDNS. */
function query(id: number, name: string, options: { type?: 'A' | 'AAAA' | 'TXT'; edns?: boolean; dnssecOk?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: options.type ?? 'A' }],
    ...(options.edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: options.dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as dnsPacket.Answer] } : {}),
  });
}

/** The question section as sent on the wire (bytes 12 .. end of QCLASS). */
const questionBytes = (message: Buffer, name: string) => message.subarray(12, 12 + name.length + 2 + 4);

describe('hot answers: a repeat question is served without re-running the pipeline', () => {
  let upstream: UpstreamFixture;
  let gateway: DnsGateway;
  let udpPort: number;
  const clock = new ManualClock();
  const log: QueryLogEntry[] = [];
  const classified: { name: string; client: ClientContext }[] = [];
  const verdicts = new Map<string, Verdict>();

  const asked = (name: string) => upstream.queries.filter((q) => q.name === name).length;
  const timesClassified = (name: string) => classified.filter((c) => c.name === name).length;
  const doh = async (message: Buffer, path = '/dns-query') => {
    const response = await gateway.handleDohRequest({ method: 'POST', path, headers: { 'content-type': 'application/dns-message' }, body: message, remoteAddress: '127.0.0.1' });
    expect(response.status).toBe(200);
    return response.body;
  };
  const hits = () => gateway.listState().metrics.cacheHits;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({
      records: {
        'www.example.test': [{ type: 'A', data: '198.51.100.7', ttl: 300 }, { type: 'AAAA', data: '2001:db8::7', ttl: 300 }],
        'short.example.test': [{ type: 'A', data: '198.51.100.8', ttl: 30 }],
        'long.example.test': [{ type: 'A', data: '198.51.100.9', ttl: 3600 }],
        'victim.example.test': [{ type: 'A', data: '198.51.100.10', ttl: 3600 }],
        'user.example.test': [{ type: 'A', data: '198.51.100.11', ttl: 3600 }],
        'big.example.test': [{ type: 'TXT', data: Array.from({ length: 4 }, (_, i) => `${i}`.repeat(200)), ttl: 3600 }],
      },
      nxdomainSuffix: 'nx.test',
    });
    gateway = createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { address: '127.0.0.1', port: 0, udp: true, tcp: false }, upstreams: [`127.0.0.1:${upstream.port}`],
        cache: { max_entries: 1000 }, verdict_cache_ttl_s: 60,
      }),
      clock,
      onQuery: (entry) => log.push(entry),
      resolveDohToken: (token) => (token === TOKEN ? { user: 'alice' } : null),
      classify: (name, client) => {
        classified.push({ name, client });
        return verdicts.get(name) ?? { action: 'allow' };
      },
    });
    udpPort = (await gateway.start()).udpPort!;
  });

  beforeEach(() => {
    log.length = 0;
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('patches the ID, echoes the question case byte for byte, and counts the TTL down', async () => {
    const first = dnsPacket.decode(await doh(query(1, 'www.example.test')));
    expect(first.answers?.[0]).toMatchObject({ ttl: 300, data: '198.51.100.7' });
    expect(gateway.listState().hotAnswers).toBeGreaterThanOrEqual(1);
    const before = { upstream: asked('www.example.test'), classified: timesClassified('www.example.test'), hits: hits() };

    clock.advance(10_400);
    const mixedCase = query(0xbeef, 'wWw.ExAmPlE.tEsT');
    const reply = await doh(mixedCase);
    expect(reply.readUInt16BE(0)).toBe(0xbeef);
    expect(questionBytes(reply, 'www.example.test').equals(questionBytes(mixedCase, 'www.example.test'))).toBe(true);
    const decoded = dnsPacket.decode(reply);
    expect(decoded.questions).toEqual([expect.objectContaining({ name: 'wWw.ExAmPlE.tEsT', type: 'A' })]);
    expect(decoded.answers).toEqual([expect.objectContaining({ ttl: 290, data: '198.51.100.7' })]);
    expect(reply.readUInt16BE(2)).toBe(0x8180); // QR, RD echoed, RA, NOERROR
    expect(asked('www.example.test')).toBe(before.upstream);
    expect(timesClassified('www.example.test')).toBe(before.classified);
    expect(hits()).toBe(before.hits + 1);
    // The query log still has every query, with the name in lower case.
    expect(log).toEqual([
      expect.objectContaining({ name: 'www.example.test', cached: false }),
      expect.objectContaining({ name: 'www.example.test', type: 'A', verdict: 'allow', cached: true, protocol: 'doh', rcode: 0, client: '127.0.0.1' }),
    ]);
  });

  it('keeps A and AAAA, and EDNS with and without DO, apart', async () => {
    await doh(query(2, 'www.example.test', { type: 'AAAA' }));
    const aaaa = dnsPacket.decode(await doh(query(3, 'www.example.test', { type: 'AAAA' })));
    expect(aaaa.answers?.[0]).toMatchObject({ type: 'AAAA', data: '2001:db8::7' });
    const withOpt = await doh(query(4, 'www.example.test', { edns: true }));
    const withOptAgain = await doh(query(5, 'www.example.test', { edns: true }));
    for (const reply of [withOpt, withOptAgain]) {
      const opt = dnsPacket.decode(reply).additionals?.find((r) => r.type === 'OPT') as { flags?: number } | undefined;
      expect(opt).toBeDefined();
      expect((opt!.flags ?? 0) & dnsPacket.DNSSEC_OK).toBe(0);
    }
    const withDo = dnsPacket.decode(await doh(query(6, 'www.example.test', { edns: true, dnssecOk: true })));
    expect(((withDo.additionals?.find((r) => r.type === 'OPT') as { flags?: number }).flags ?? 0) & dnsPacket.DNSSEC_OK).toBe(dnsPacket.DNSSEC_OK);
    // A query without EDNS after the EDNS ones gets no OPT record back (RFC 6891 §7).
    const plain = await doh(query(7, 'www.example.test'));
    expect(plain.readUInt16BE(10)).toBe(0);
  });

  it('goes back to the upstream once the cached answer has expired', async () => {
    await doh(query(8, 'short.example.test'));
    await doh(query(9, 'short.example.test'));
    expect(asked('short.example.test')).toBe(1);
    clock.advance(31_000);
    const reply = dnsPacket.decode(await doh(query(10, 'short.example.test')));
    expect(asked('short.example.test')).toBe(2);
    expect(reply.answers?.[0]).toMatchObject({ ttl: 30 });
  });

  it('does not answer a name blocked at run time, and answers it again once unblocked', async () => {
    await doh(query(11, 'victim.example.test'));
    await doh(query(12, 'victim.example.test'));
    gateway.blockDomain('victim.example.test', 'incident 12');
    const blocked = await doh(query(13, 'victim.example.test'));
    expect(blocked[3]! & 0x0f).toBe(3); // NXDOMAIN
    expect(log.at(-1)).toMatchObject({ name: 'victim.example.test', verdict: 'block', reason: 'dynamic' });
    expect(gateway.unblockDomain('victim.example.test')).toBe(true);
    const again = dnsPacket.decode(await doh(query(14, 'victim.example.test')));
    expect(again.answers?.[0]).toMatchObject({ data: '198.51.100.10' });
  });

  it('asks the verdict hook again when its memo expires, and applies a changed verdict', async () => {
    await doh(query(15, 'long.example.test'));
    await doh(query(16, 'long.example.test'));
    expect(timesClassified('long.example.test')).toBe(1);
    verdicts.set('long.example.test', { action: 'block', reasons: [{ code: 'lookalike' }], humanReason: 'looks like acme' });
    clock.advance(30_000);
    await doh(query(17, 'long.example.test'));
    expect(timesClassified('long.example.test')).toBe(1);
    // The memo lives at most verdict_cache_ttl_s (less a per-name jitter of up to a quarter).
    clock.advance(31_000);
    const blocked = await doh(query(18, 'long.example.test'));
    expect(timesClassified('long.example.test')).toBe(2);
    expect(blocked[3]! & 0x0f).toBe(3);
    expect(log.at(-1)).toMatchObject({ verdict: 'block', reason: 'classify:lookalike' });
    verdicts.delete('long.example.test');
  });

  it('takes the full path for per-user DoH, so the hook sees the user', async () => {
    await doh(query(19, 'user.example.test'));
    await doh(query(20, 'user.example.test'));
    expect(classified.filter((c) => c.name === 'user.example.test').map((c) => c.client.user)).toEqual([undefined]);
    await doh(query(21, 'user.example.test'), `/dns-query/${TOKEN}`);
    expect(classified.filter((c) => c.name === 'user.example.test').map((c) => c.client.user)).toEqual([undefined, 'alice']);
    expect(log.at(-1)).toMatchObject({ user: 'alice', cached: true });
  });

  it('keeps negative answers for their SOA-derived time (RFC 2308) and serves them from the hot path', async () => {
    const first = await doh(query(22, 'gone.nx.test'));
    expect(first[3]! & 0x0f).toBe(3);
    const second = await doh(query(23, 'gone.nx.test'));
    expect(second[3]! & 0x0f).toBe(3);
    expect(second.readUInt16BE(0)).toBe(23);
    expect(asked('gone.nx.test')).toBe(1);
    expect(log.at(-1)).toMatchObject({ cached: true, rcode: 3 });
  });

  it('still truncates a UDP answer larger than the client accepts when it comes from the hot path', async () => {
    const socket = dgram.createSocket('udp4');
    const ask = (message: Buffer) =>
      new Promise<Buffer>((resolve) => {
        socket.once('message', resolve);
        socket.send(message, udpPort, '127.0.0.1');
      });
    try {
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      for (const id of [24, 25]) {
        const reply = await ask(query(id, 'big.example.test', { type: 'TXT' }));
        expect(reply.readUInt16BE(0)).toBe(id);
        expect(reply[2]! & 0x02).toBe(0x02); // TC: RFC 1035 §4.2.1, 512 bytes without EDNS
        expect(reply.length).toBeLessThanOrEqual(512);
      }
      const big = await ask(query(26, 'big.example.test', { type: 'TXT', edns: true }));
      expect(big[2]! & 0x02).toBe(0);
      expect(dnsPacket.decode(big).answers).toHaveLength(1);
    } finally {
      socket.close();
    }
  });
});

describe('HotAnswerTable', () => {
  const hasher = new DomainHasher(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  const policy: ClientPolicy = { name: 'default', mode: 'filter', blocklists: [], allowlist: buildNameSet([], hasher), blockResponse: 'nxdomain', classify: true };
  const other: ClientPolicy = { ...policy, name: 'other' };
  const lowerName = (name: string) => Buffer.from(name.toLowerCase(), 'latin1');

  function hotAnswerFor(name: string, freshUntil: number): HotAnswer {
    const reply = dnsPacket.encode({ type: 'response', id: 1, questions: [{ name, type: 'A' }], answers: [{ name, type: 'A', ttl: 300, data: '198.51.100.1' }] });
    const answer = readUpstreamAnswer(reply, { id: 1, name, qtype: 1, qclass: 1 });
    if (typeof answer === 'string') throw new Error(answer);
    return new HotAnswer(name, 1, false, 'A', 'allow', '', newCacheEntry(answer, Uint32Array.from(answer.ttls), 0, 300), freshUntil);
  }
  const find = (table: HotAnswerTable, forPolicy: ClientPolicy, scratchName: string, wireName: string, now = 0, type: 'A' | 'AAAA' = 'A') => {
    const scratch = lowerName(scratchName);
    const message = query(1, wireName, { type });
    return table.find(forPolicy, scratch, scratch.length, message, message.length, type === 'A' ? 1 : 28, false, now);
  };

  it('finds a question in any letter case, for the policy that answered it, until freshUntil', () => {
    const table = new HotAnswerTable(10, hasher);
    const hot = hotAnswerFor('www.example.test', 5_000);
    table.remember(policy, hot);
    expect(find(table, policy, 'www.example.test', 'WWW.Example.TEST')).toBe(hot);
    expect(find(table, other, 'www.example.test', 'www.example.test')).toBeUndefined();
    expect(find(table, policy, 'www.example.test', 'www.example.test', 0, 'AAAA')).toBeUndefined();
    expect(find(table, policy, 'www.example.test', 'www.example.test', 5_000)).toBeUndefined();
  });

  it('treats a slot whose question differs byte for byte as a miss (a hash collision must not answer another name)', () => {
    const table = new HotAnswerTable(10, hasher);
    table.remember(policy, hotAnswerFor('www.example.test', 5_000));
    // Same hash input (the scratch name), different question on the wire: same length, one letter apart.
    expect(find(table, policy, 'www.example.test', 'www.examplf.test')).toBeUndefined();
    expect(find(table, policy, 'www.example.test', 'wwx.example.test')).toBeUndefined();
  });

  it('keeps at most maxEntries, evicting the oldest', () => {
    const table = new HotAnswerTable(2, hasher);
    for (const name of ['a.example.test', 'b.example.test', 'c.example.test']) table.remember(policy, hotAnswerFor(name, 5_000));
    expect(table.size).toBe(2);
    expect(find(table, policy, 'a.example.test', 'a.example.test')).toBeUndefined();
    expect(find(table, policy, 'c.example.test', 'c.example.test')).toBeDefined();
    table.clear();
    expect(table.size).toBe(0);
  });

  it('stays within its byte budget under a flood of unique names, across policies, and keeps an answer still asked for', () => {
    const maxBytes = 32 * 1024;
    const table = new HotAnswerTable(100_000, hasher, maxBytes);
    const popular = hotAnswerFor('www.example.test', 5_000);
    table.remember(policy, popular);
    for (let k = 0; k < 1_000; k++) {
      table.remember(k % 2 === 0 ? policy : other, hotAnswerFor(`r${k}.victim.test`, 5_000));
      expect(table.memoryUse().bytes).toBeLessThanOrEqual(maxBytes);
      if (k % 10 === 0) expect(find(table, policy, 'www.example.test', 'www.example.test')).toBe(popular);
    }
    const use = table.memoryUse();
    expect(use.evictions).toBe(1_001 - use.entries);
    expect(find(table, policy, 'r0.victim.test', 'r0.victim.test')).toBeUndefined();
    expect(find(table, other, 'r999.victim.test', 'r999.victim.test')).toBeDefined();
    // Each policy's answers stay its own after sharing one table.
    expect(find(table, policy, 'r999.victim.test', 'r999.victim.test')).toBeUndefined();
  });

  it('marks the cache entry used when it serves a hit, at most once a second, so the cache keeps a popular answer', () => {
    const hot = hotAnswerFor('www.example.test', 5_000);
    hot.refreshTtls(0);
    expect(hot.entry.recentlyUsed).toBe(true);
    hot.entry.recentlyUsed = false;
    hot.refreshTtls(999);
    expect(hot.entry.recentlyUsed).toBe(false);
    hot.refreshTtls(1_000);
    expect(hot.entry.recentlyUsed).toBe(true);
  });
});
