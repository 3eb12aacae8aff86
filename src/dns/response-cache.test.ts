import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { readUpstreamAnswer } from './upstream-answer.js';
import { ResponseCache, renderCachedReply, renderStaleReply, toCacheEntry, type CacheEntry } from './response-cache.js';
import { encodeOptRecord } from './wire-response.js';

const limits = { minTtlS: 0, maxTtlS: 600, negativeMaxTtlS: 300, maxEntries: 10 };

function entryFor(ttls: number[], now: number): CacheEntry {
  const reply = dnsPacket.encode({
    type: 'response', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'www.example.test', type: 'A' }],
    answers: ttls.map((ttl, i) => ({ name: 'www.example.test', type: 'A' as const, ttl, data: `198.51.100.${i + 1}` })),
  });
  const answer = readUpstreamAnswer(reply, { id: 7, name: 'www.example.test', qtype: 1, qclass: 1 });
  if (typeof answer === 'string') throw new Error(answer);
  const entry = toCacheEntry(answer, limits, now);
  if (!entry) throw new Error('not cacheable');
  return entry;
}

const query = (id: number, name: string) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] });
const ttlsOf = (reply: Buffer) => (dnsPacket.decode(reply).answers ?? []).map((a) => (a as { ttl?: number }).ttl);

describe('renderCachedReply', () => {
  it('clamps TTLs to the cap and counts each one down with the entry age, floored at 0', () => {
    const entry = entryFor([900, 100], 1_000_000);
    expect(entry.ttlS).toBe(100);
    expect(ttlsOf(renderCachedReply(entry, query(1, 'www.example.test'), 1, 0x0100, 1_000_000, undefined))).toEqual([600, 100]);
    expect(ttlsOf(renderCachedReply(entry, query(2, 'www.example.test'), 2, 0x0100, 1_000_999, undefined))).toEqual([600, 100]);
    expect(ttlsOf(renderCachedReply(entry, query(3, 'www.example.test'), 3, 0x0100, 1_001_000, undefined))).toEqual([599, 99]);
    expect(ttlsOf(renderCachedReply(entry, query(4, 'www.example.test'), 4, 0x0100, 1_150_000, undefined))).toEqual([450, 0]);
  });

  it('never stretches a TTL when the clock steps back', () => {
    const entry = entryFor([300], 1_000_000);
    renderCachedReply(entry, query(1, 'www.example.test'), 1, 0x0100, 1_010_000, undefined);
    expect(ttlsOf(renderCachedReply(entry, query(2, 'www.example.test'), 2, 0x0100, 990_000, undefined))).toEqual([300]);
  });

  it('writes the ID, the query RD/CD bits and the question case of each query into its own buffer', () => {
    const entry = entryFor([300], 0);
    const upper = query(0xabcd, 'WWW.EXAMPLE.TEST');
    const first = renderCachedReply(entry, upper, 0xabcd, 0x0110, 0, undefined);
    const second = renderCachedReply(entry, query(0x1234, 'www.example.test'), 0x1234, 0x0000, 0, undefined);
    expect(first.readUInt16BE(0)).toBe(0xabcd);
    expect(first.readUInt16BE(2)).toBe(0x8190); // QR, RD, RA, CD
    expect(first.subarray(12, 30).equals(upper.subarray(12, 30))).toBe(true);
    expect(second.readUInt16BE(0)).toBe(0x1234);
    expect(second.readUInt16BE(2)).toBe(0x8080);
    expect(dnsPacket.decode(second).questions?.[0]?.name).toBe('www.example.test');
  });

  it('appends the OPT record and counts it in ARCOUNT', () => {
    const entry = entryFor([300], 0);
    const reply = renderCachedReply(entry, query(1, 'www.example.test'), 1, 0x0100, 0, encodeOptRecord({ udpPayload: 1232 }));
    expect(reply.readUInt16BE(10)).toBe(1);
    expect(dnsPacket.decode(reply).additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 });
  });
});

describe('serve stale (RFC 8767)', () => {
  it('keeps an expired entry for the stale window only, out of fresh lookups, and renders it with TTL 30', () => {
    const cache = new ResponseCache(limits, 60_000);
    const entry = entryFor([100, 300], 0);
    cache.set('k', entry);
    expect(cache.get('k', 100_000)).toBeUndefined();
    expect(cache.getStale('k', 159_999)).toBe(entry);
    expect(ttlsOf(renderStaleReply(entry, query(4, 'www.example.test'), 4, 0x0100, 30, undefined))).toEqual([30, 30]);
    // The template keeps its own TTLs for when the entry is fresh again.
    expect(ttlsOf(renderCachedReply(entry, query(5, 'www.example.test'), 5, 0x0100, 0, undefined))).toEqual([100, 300]);
    expect(cache.getStale('k', 160_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops an expired entry at once when serving stale is off', () => {
    const cache = new ResponseCache(limits);
    cache.set('k', entryFor([100], 0));
    expect(cache.get('k', 100_000)).toBeUndefined();
    expect(cache.getStale('k', 100_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});

describe('byte budget (dns.memory_budget_mb)', () => {
  /** NXDOMAIN with an SOA for a unique random subdomain, as a water-torture flood makes the upstream send. */
  function negativeEntry(name: string, now: number): CacheEntry {
    const reply = dnsPacket.encode({
      type: 'response', id: 7, flags: dnsPacket.RECURSION_DESIRED | 3, questions: [{ name, type: 'A' }],
      authorities: [{ name: 'victim.test', type: 'SOA', ttl: 300, data: { mname: 'ns.victim.test', rname: 'admin.victim.test', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 300 } }],
    });
    const answer = readUpstreamAnswer(reply, { id: 7, name, qtype: 1, qclass: 1 });
    if (typeof answer === 'string') throw new Error(answer);
    const entry = toCacheEntry(answer, limits, now);
    if (!entry) throw new Error('not cacheable');
    return entry;
  }

  it('caches negative answers (RFC 2308) but never beyond the budget under a flood of unique names', () => {
    const maxBytes = 64 * 1024;
    const cache = new ResponseCache({ ...limits, maxEntries: 100_000, maxBytes }, 60_000);
    for (let k = 0; k < 2_000; k++) {
      cache.set(`r${k}x${(k * 7919).toString(36)}.victim.test/1`, negativeEntry(`r${k}x${(k * 7919).toString(36)}.victim.test`, 0));
      expect(cache.memoryUse().bytes).toBeLessThanOrEqual(maxBytes);
    }
    const use = cache.memoryUse();
    expect(use.evictions).toBe(2_000 - use.entries);
    expect(use.entries).toBeGreaterThan(0);
    // The newest negative answer is still served from the cache, the oldest is gone.
    expect(cache.get(`r1999x${(1999 * 7919).toString(36)}.victim.test/1`, 1_000)?.rcode).toBe(3);
    expect(cache.get('r0x0.victim.test/1', 1_000)).toBeUndefined();
  });

  it('keeps a name clients keep asking for while the flood evicts the rest', () => {
    const cache = new ResponseCache({ ...limits, maxEntries: 100_000, maxBytes: 32 * 1024 });
    const popular = entryFor([300], 0);
    cache.set('www.example.test/1', popular);
    for (let k = 0; k < 2_000; k++) {
      cache.set(`flood${k}.victim.test/1`, negativeEntry(`flood${k}.victim.test`, 0));
      if (k % 10 === 0) expect(cache.get('www.example.test/1', 1_000)).toBe(popular);
    }
    expect(cache.memoryUse().evictions).toBeGreaterThan(1_900);
  });
});
