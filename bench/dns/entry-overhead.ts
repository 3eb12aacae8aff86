/**
 * Measures the fixed per-entry overhead charged in src/dns/memory-budget.ts: builds N entries of each
 * per-name structure the way the resolver builds them (unique random subdomains, NXDOMAIN with SOA as
 * a flood gets), and compares heap + external memory and RSS after a full GC with the bytes the
 * variable part is charged. Prints one row per structure.
 *
 *   node --expose-gc --import tsx bench/dns/entry-overhead.ts [--entries 200000]
 */
import dnsPacket from 'dns-packet';
import { buildNameSet } from '../../src/dns/blocklist-store.js';
import type { ClientPolicy } from '../../src/dns/client-policies.js';
import { DomainHasher } from '../../src/dns/domain-hash.js';
import { HotAnswer, HotAnswerTable } from '../../src/dns/hot-answers.js';
import {
  CACHE_ENTRY_OVERHEAD, HOT_ANSWER_OVERHEAD, QUERY_LOG_ROW_OVERHEAD, VERDICT_MEMO_OVERHEAD,
} from '../../src/dns/memory-budget.js';
import { QueryLogWriter } from '../../src/dns/query-log-writer.js';
import { ResponseCache, toCacheEntry, type CacheEntry } from '../../src/dns/response-cache.js';
import { readUpstreamAnswer } from '../../src/dns/upstream-answer.js';
import { VerdictMemoTable } from '../../src/dns/verdict-memo.js';
import type { Store } from '../../src/store/index.js';
import { dnsProtectSchema } from '../../src/config/index.js';
import { createLookalikeDetector } from '../../src/intel/lookalike/index.js';

const i = process.argv.indexOf('--entries');
const N = i > 0 ? Number(process.argv[i + 1]) : 200_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function used(): { heap: number; rss: number } {
  for (let k = 0; k < 4; k++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

const randomLabel = (k: number) => `${k.toString(36)}${Math.random().toString(36).slice(2, 12)}`;
const names = Array.from({ length: N }, (_, k) => `${randomLabel(k)}.example.com`);
const limits = { minTtlS: 0, maxTtlS: 86400, negativeMaxTtlS: 3600, maxEntries: Infinity };
const rows: string[][] = [['structure', 'entries', 'heap+ext B/entry', 'RSS B/entry', 'variable B/entry (charged)', 'overhead measured', 'charged']];
const report = (label: string, before: { heap: number; rss: number }, variable: number, charged: number) => {
  const after = used();
  const heap = (after.heap - before.heap) / N;
  const rss = (after.rss - before.rss) / N;
  rows.push([label, String(N), heap.toFixed(0), rss.toFixed(0), variable.toFixed(0), (Math.max(heap, rss) - variable).toFixed(0), String(charged)]);
};

function negativeAnswer(name: string) {
  const reply = dnsPacket.encode({
    type: 'response', id: 1, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | 3, questions: [{ name, type: 'A' }],
    authorities: [{ name: 'example.com', type: 'SOA', ttl: 900, data: { mname: 'ns.example.com', rname: 'hostmaster.example.com', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 900 } }],
  });
  const answer = readUpstreamAnswer(reply, { id: 1, name, qtype: 1, qclass: 1 });
  if (typeof answer === 'string') throw new Error(answer);
  return answer;
}

// Answer cache: key string built per query as query-handler.ts does, entry from the upstream answer.
// Keys are charged at 2 bytes a character but V8 stores them at one: the overhead is measured against
// the one-byte size so the charge stays an upper bound.
let before = used();
const cache = new ResponseCache(limits);
let variable = 0;
const entries: CacheEntry[] = [];
for (const name of names) {
  const answer = negativeAnswer(name);
  const key = `${name}/1`;
  const entry = toCacheEntry(answer, limits, 0)!;
  cache.set(key, entry);
  entries.push(entry);
  variable += key.length + entry.template.length + entry.ttlOffsets.byteLength + entry.ttls.byteLength;
}
report('answer cache (NXDOMAIN + SOA)', before, variable / N, CACHE_ENTRY_OVERHEAD);

// Hot answers: the templates are shared with the cache entries above (already counted there).
before = used();
const hasher = new DomainHasher(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
const policy: ClientPolicy = { name: 'default', mode: 'filter', blocklists: [], allowlist: buildNameSet([], hasher), blockResponse: 'nxdomain', classify: true };
const hot = new HotAnswerTable(Infinity, hasher);
variable = 0;
names.forEach((name, k) => {
  const copy = Buffer.from(name, 'latin1').toString('latin1');
  hot.remember(policy, new HotAnswer(copy, 1, false, 'A', 'allow', '', entries[k]!, 1e12));
  variable += copy.length;
});
report('hot answers', before, variable / N, HOT_ANSWER_OVERHEAD);

// Verdict memo: one fresh Verdict per name, as build-dns.ts's toVerdict makes.
before = used();
const memo = new VerdictMemoTable(Infinity, Infinity);
variable = 0;
for (const name of names) {
  const key = `default\0\0${name}`;
  memo.remember(key, { action: 'allow', reasons: [{ code: 'lookalike_checked' }] }, 1e12);
  variable += key.length;
}
report('verdict memo', before, variable / N, VERDICT_MEMO_OVERHEAD);

// Query log ring: the name and the client address are per-query strings.
before = used();
const log = new QueryLogWriter({ store: {} as Store, now: () => 0, flushIntervalMs: 1000, maxBuffer: N, retentionDays: 1, onError: () => undefined });
variable = 0;
names.forEach((name, k) => {
  const copy = Buffer.from(name, 'latin1').toString('latin1');
  const client = `10.0.${(k >> 8) & 255}.${k & 255}`;
  log.add(0, 0.1, client, undefined, 'udp', copy, 'A', 'allow', '');
  variable += copy.length + client.length;
});
report('query log row', before, variable / N, QUERY_LOG_ROW_OVERHEAD);

// The lookalike detector's recent caches (by name, registrable domain, subdomain label) are bounded by
// count (`dns.protect.cache_entries`), not by this budget: what a flood leaves in them, in total.
before = used();
const detector = createLookalikeDetector(dnsProtectSchema.parse({ brands: ['acme', 'gatehouse'], domains: ['acme.com'] }));
for (const name of names) detector.check(Buffer.from(name, 'latin1').toString('latin1'));
const lookalike = used();
const lookalikeNote = `lookalike caches after ${N} unique names: ${((lookalike.heap - before.heap) / 1048576).toFixed(1)} MB heap+external, ${((lookalike.rss - before.rss) / 1048576).toFixed(1)} MB RSS (count-bounded, outside dns.memory_budget_mb)`;

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
console.log(lookalikeNote);
// Keep everything alive until measured.
if (cache.size + hot.size + memo.size + log.pending < 0) console.log('unreachable');
