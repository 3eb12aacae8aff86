/**
 * CPU per query of the gateway's query handler alone, in process, without sockets: the part of a UDP
 * query that is ours (dgram's receive and send, mostly kernel time, are measured by bench:dns).
 * Builds the handler as createDnsGateway does, with the 1,000,000-name list of bench:dns and the
 * lookalike hook, warms the cache, then times `handle()` over the same query mixes.
 *
 *   npx tsx bench/dns/handler-micro.ts [--names 1000000] [--rounds 5] [--query-log]
 *
 * `--query-log` records every query through the gateway's query log writer (as `gatehouse serve` does
 * with `dns.query_log.enabled`), flushed between rounds into a store that discards the rows; the
 * flush's own CPU per query is printed beside the handler's.
 * A profiling tool, run by hand: prints one line per mix with the median of the rounds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsConfigSchema } from '../../src/config/index.js';
import { createLookalikeDetector } from '../../src/intel/lookalike/index.js';
import { systemClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';
import { BlocklistStore, buildNameSet } from '../../src/dns/blocklist-store.js';
import { ClientPolicyTable, type ClientPolicy } from '../../src/dns/client-policies.js';
import { DomainHasher } from '../../src/dns/domain-hash.js';
import { DnsMetrics } from '../../src/dns/gateway-metrics.js';
import { QueryHandler, type QueryContext } from '../../src/dns/query-handler.js';
import { QueryLogWriter } from '../../src/dns/query-log-writer.js';
import { ResponseCache, type CacheLimits } from '../../src/dns/response-cache.js';
import { startUpstreamFixture } from '../../src/dns/test-support/upstream-fixture.js';
import { UpstreamForwarder } from '../../src/dns/upstream-forwarder.js';
import type { Store } from '../../src/store/index.js';
import type { Verdict } from '../../src/dns/verdict.js';
import { generateBlocklist, pickRandom } from './blocklist-generator.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const NAMES = arg('names', 1_000_000);
const ROUNDS = arg('rounds', 5);
const QUERY_LOG = process.argv.includes('--query-log');

/** A query as dnsperf sends it: RD set, no EDNS, the name's letters as given. */
function wireQuery(id: number, name: string, qtype: number): Buffer {
  const labels = name.split('.').flatMap((label) => [Buffer.from([label.length]), Buffer.from(label, 'latin1')]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, ...labels, Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1])]);
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dns-micro-'));
const upstream = await startUpstreamFixture({ wildcardTtl: 3600 });
try {
  const names = generateBlocklist(NAMES);
  const listPath = join(dir, 'blocklist.hosts');
  writeFileSync(listPath, names.map((n) => `0.0.0.0 ${n}`).join('\n') + '\n');
  const config = dnsConfigSchema.parse({
    enabled: true, listen: { port: 0, udp: false, tcp: false }, upstreams: [`127.0.0.1:${upstream.port}`],
    blocklists: [{ name: 'bench', path: listPath, format: 'hosts', refresh_interval_s: 0 }],
    block_response: 'block_page', block_page: { ipv4: '0.0.0.0', ipv6: '::' }, cache: { max_entries: 10_000 },
    protect: { brands: ['acme', 'gatehouse'], domains: ['acme.com'] },
  });
  const hasher = new DomainHasher(cryptoRandom.bytes(8));
  const store = new BlocklistStore({
    sources: [{ name: 'bench', path: listPath, format: 'hosts', refreshIntervalS: 0, infoCode: 15 }],
    allowlist: [], hasher, now: () => systemClock.now(), maxSourceBytes: config.blocklist_max_bytes, fetchTimeoutMs: 1000,
  });
  await store.refreshAll();
  const policy: ClientPolicy = { name: 'default', mode: 'filter', blocklists: [0], allowlist: buildNameSet([], hasher), blockResponse: 'block_page', classify: true };
  const cacheLimits: CacheLimits = { minTtlS: 0, maxTtlS: 86400, negativeMaxTtlS: 3600, maxEntries: 10_000 };
  const forwarder = new UpstreamForwarder({
    upstreams: [{ host: '127.0.0.1', port: upstream.port }], timeoutMs: 1000, retries: 1, sockets: 4, random: cryptoRandom, now: () => performance.now(),
  });
  await forwarder.start();
  const detector = createLookalikeDetector(config.protect!);
  const allow: Verdict = { action: 'allow' };
  // Only the insert the writer issues, answered at once: the rows' preparation is measured, not the database.
  const discardingStore = { db: { insertInto: () => ({ values: () => ({ execute: () => Promise.resolve([]) }) }) } } as unknown as Store;
  const queryLog = new QueryLogWriter({
    store: discardingStore, now: () => systemClock.now(), flushIntervalMs: 1000, maxBuffer: 100_000, retentionDays: 30, onError: () => undefined,
  });
  const handler = new QueryHandler({
    store, policies: new ClientPolicyTable([], policy), cache: new ResponseCache(cacheLimits), cacheLimits, forwarder, hasher,
    metrics: new DnsMetrics(), clock: systemClock, monotonicMs: () => performance.now(), maxUdpPayload: 1232, blockTtlS: 10,
    blockPage: { ipv4: Buffer.alloc(4), ipv6: Buffer.alloc(16) },
    classify: (name) => {
      const result = detector.check(name);
      return result.lookalike ? { action: 'block', reasons: [{ code: 'lookalike' }], humanReason: `looks like ${result.brand ?? 'a brand'}` } : allow;
    },
    classifyBudgetMs: 200, onClassifyTimeout: 'allow', verdictCacheTtlMs: 60_000,
    ...(QUERY_LOG ? { queryLog } : {}),
  });

  // The query mixes of bench:dns (same generator, same seeds).
  const blocked = pickRandom(names, 50_000, 7);
  const blockedQueries = [...blocked.slice(0, 40_000).map((n, i) => [n, i % 5 === 0 ? 28 : 1] as const), ...blocked.slice(40_000).map((n) => [`cdn.${n}`, 1] as const)];
  const allowedQueries = Array.from({ length: 50_000 }, (_, i) => [`host${i % 5000}.allowed-${i % 50}.bench.test`, i % 5 === 0 ? 28 : 1] as const);
  const mixes = {
    allowed: pickRandom(allowedQueries, 50_000, 13).map(([n, t], i) => wireQuery(i & 0xffff, n, t)),
    blocked: pickRandom(blockedQueries, 50_000, 12).map(([n, t], i) => wireQuery(i & 0xffff, n, t)),
  };
  const ctx: QueryContext = { address: '127.0.0.1', protocol: 'udp' };
  const source = Buffer.from(ctx.address, 'latin1');
  for (const queries of Object.values(mixes)) for (const query of queries) await handler.handle(query, ctx);
  await queryLog.flush();

  let sink = 0;
  for (const [mix, queries] of Object.entries(mixes)) {
    const cpu: number[] = [];
    const flushCpu: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // As udp-server.ts gets them: each datagram's source address is a new string (dgram's rinfo.address),
      // made here before the clock starts since dgram, not the handler, pays for it.
      const addresses = queries.map(() => source.toString('latin1'));
      const before = process.cpuUsage();
      for (let i = 0; i < queries.length; i++) {
        const reply = handler.handle(queries[i]!, { address: addresses[i]!, protocol: 'udp' });
        if (reply instanceof Promise) throw new Error('a warmed query went to the upstream');
        sink += reply ? reply.length : 0;
      }
      const used = process.cpuUsage(before);
      cpu.push(((used.user + used.system) * 1000) / queries.length);
      const beforeFlush = process.cpuUsage();
      await queryLog.flush();
      const flushed = process.cpuUsage(beforeFlush);
      flushCpu.push(((flushed.user + flushed.system) * 1000) / queries.length);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const log = QUERY_LOG ? ` with query log (+ ${median(flushCpu).toFixed(0)} ns/query to flush; ${queryLog.dropped} dropped)` : '';
    console.log(`${mix.padEnd(8)} ${median(cpu).toFixed(0).padStart(6)} ns CPU/query (median of ${ROUNDS} rounds of ${queries.length}; min ${Math.min(...cpu).toFixed(0)})${log}`);
  }
  if (sink === 0) console.log('no replies');
  forwarder.stop();
} finally {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
}
