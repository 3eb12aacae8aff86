import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsAgeSchema, type DnsAgeConfig } from '../../config/index.js';
import { ManualClock } from '../../lib/clock.js';
import { assessDomainAge } from './age-policy.js';
import { createMemoryAgeCache, createTieredAgeCache, type DomainAgeCacheStore, type DomainAgeRecord } from './age-cache.js';
import { createDomainAgeService, type DomainAgeServiceOptions } from './domain-age-service.js';
import { createNrdIndex } from './nrd-index.js';
import { loadRdapBootstrapFile } from './rdap-bootstrap.js';
import { startRdapFixture, type RdapFixture } from './test-support/rdap-fixture-server.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
let fixture: RdapFixture;
const shipped = loadRdapBootstrapFile();

function setup(config: Record<string, unknown> = {}, extra: Partial<DomainAgeServiceOptions> = {}) {
  const clock = new ManualClock();
  const parsed: DnsAgeConfig = dnsAgeSchema.parse({ rdap_overrides: { test: fixture.baseUrl }, time_budget_ms: 5000, ...config });
  const service = createDomainAgeService({ config: parsed, clock, bootstrap: { current: () => shipped }, rdapConnection: fixture.connection, ...extra });
  return { clock, service, config: parsed };
}

/** A shared store as a database would be: asynchronous, outside the service. */
function asyncStore(): DomainAgeCacheStore & { rows: Map<string, DomainAgeRecord> } {
  const rows = new Map<string, DomainAgeRecord>();
  return {
    rows,
    get: async (domain) => rows.get(domain),
    set: async (record) => void rows.set(record.domain, { ...record }),
  };
}

beforeAll(async () => {
  fixture = await startRdapFixture();
});
afterAll(async () => {
  await fixture.close();
});

describe('domain age service', () => {
  it('caches per registrable domain: other names under it do not hit RDAP again', async () => {
    const { clock, service } = setup();
    const registeredAt = clock.now() - 37 * MINUTE;
    fixture.set('cached-young.test', { kind: 'registered', registeredAt });
    const first = await service.lookup('login.cached-young.test');
    expect(first).toMatchObject({ registrableDomain: 'cached-young.test', rdap: { status: 'registered', registeredAt }, fromCache: false });
    const second = await service.lookup('a.b.cached-young.test');
    expect(second).toMatchObject({ rdap: { status: 'registered', registeredAt }, fromCache: true });
    expect(service.peek('CACHED-YOUNG.test.')).toMatchObject({ rdap: { status: 'registered', registeredAt }, fromCache: true });
    expect(fixture.hits('cached-young.test')).toBe(1);
  });

  it('keeps a registration date for cache_ttl_hours and a 404 only negative_cache_ttl_minutes', async () => {
    const { clock, service } = setup({ cache_ttl_hours: 24, negative_cache_ttl_minutes: 5 });
    fixture.set('ttl-old.test', { kind: 'registered', registeredAt: Date.UTC(2005, 0, 1) });
    await service.lookup('ttl-old.test');
    await service.lookup('ttl-unregistered.test');
    clock.advance(4 * MINUTE);
    expect((await service.lookup('ttl-unregistered.test')).fromCache).toBe(true);
    expect(fixture.hits('ttl-unregistered.test')).toBe(1);
    clock.advance(2 * MINUTE);
    // The attacker may have registered it since: a 404 is asked again after a few minutes.
    expect((await service.lookup('ttl-unregistered.test')).fromCache).toBe(false);
    expect(fixture.hits('ttl-unregistered.test')).toBe(2);
    expect((await service.lookup('ttl-old.test')).fromCache).toBe(true);
    clock.advance(24 * HOUR);
    expect((await service.lookup('ttl-old.test')).fromCache).toBe(false);
    expect(fixture.hits('ttl-old.test')).toBe(2);
  });

  it('caches errors briefly too, so a failing server is not hammered', async () => {
    const { service } = setup();
    fixture.set('err500.test', { kind: 'status', status: 500 });
    await service.lookup('err500.test');
    expect(await service.lookup('www.err500.test')).toMatchObject({ rdap: { status: 'error', code: 'rdap_server_error' }, fromCache: true });
    expect(fixture.hits('err500.test')).toBe(1);
  });

  it('coalesces concurrent lookups of one registrable domain into one request', async () => {
    const { clock, service } = setup();
    const registeredAt = clock.now() - 2 * HOUR;
    fixture.set('burst.test', { kind: 'slow', delayMs: 300, registeredAt });
    const names = Array.from({ length: 10 }, (_, i) => `host${i}.burst.test`);
    const results = await Promise.all(names.map((name) => service.lookup(name)));
    expect(fixture.hits('burst.test')).toBe(1);
    for (const facts of results) expect(facts.rdap).toEqual({ status: 'registered', registeredAt });
  });

  it('answers pending when the budget runs out, then serves the background result from the cache', async () => {
    const { clock, service } = setup({ time_budget_ms: 50 });
    const registeredAt = clock.now() - 40 * MINUTE;
    fixture.set('slow-young.test', { kind: 'slow', delayMs: 1000, registeredAt });
    const within = await service.lookupWithinBudget('www.slow-young.test');
    expect(within).toMatchObject({ registrableDomain: 'slow-young.test', rdap: { status: 'pending' } });
    expect(service.peek('slow-young.test')).toBeUndefined();
    await service.idle();
    expect(service.peek('slow-young.test')).toMatchObject({ rdap: { status: 'registered', registeredAt }, fromCache: true });
    expect(await service.lookupWithinBudget('slow-young.test')).toMatchObject({ rdap: { status: 'registered' }, fromCache: true });
    expect(fixture.hits('slow-young.test')).toBe(1);
  });

  it('refuses new lookups beyond max_concurrent_lookups without caching the refusal', async () => {
    const { service } = setup({ max_concurrent_lookups: 1 });
    fixture.set('hog.test', { kind: 'slow', delayMs: 300, registeredAt: 0 });
    fixture.set('after-hog.test', { kind: 'registered', registeredAt: Date.UTC(2012, 0, 1) });
    const hog = service.lookup('hog.test');
    expect(await service.lookup('after-hog.test')).toMatchObject({ rdap: { status: 'error', code: 'rdap_overloaded' } });
    await hog;
    expect(await service.lookup('after-hog.test')).toMatchObject({ rdap: { status: 'registered' }, fromCache: false });
  });

  it('uses the shipped bootstrap by TLD and rdap_overrides before it', () => {
    const { service } = setup();
    // No override for .corp and no bootstrap entry: known at once, no request.
    expect(service.peek('printer.corp')).toMatchObject({ registrableDomain: 'printer.corp', rdap: { status: 'no_server' } });
    // .com is in the shipped bootstrap (Verisign): a lookup is needed, so peek has no answer yet.
    expect(service.peek('example.com')).toBeUndefined();
  });

  it('has nothing to ask about IP addresses, single labels and invalid names', async () => {
    const { service } = setup();
    for (const name of ['192.0.2.1', 'localhost', 'a..b', '-bad-.test', '']) {
      expect(await service.lookup(name)).toMatchObject({ registrableDomain: undefined, rdap: { status: 'not_applicable' } });
      expect(service.peek(name)).toMatchObject({ rdap: { status: 'not_applicable' } });
    }
  });

  it('shares answers across instances through a slower store behind the memory LRU', async () => {
    const shared = asyncStore();
    fixture.set('shared.test', { kind: 'registered', registeredAt: Date.UTC(2020, 0, 1) });
    const one = setup({}, { cache: createTieredAgeCache(createMemoryAgeCache(10), shared) });
    await one.service.lookup('shared.test');
    expect(shared.rows.get('shared.test')).toMatchObject({ status: 'registered', registeredAt: Date.UTC(2020, 0, 1) });
    const two = setup({}, { cache: createTieredAgeCache(createMemoryAgeCache(10), shared) });
    // Sync path cannot wait for the store; the async path finds it there and fills memory.
    expect(two.service.peek('shared.test')).toBeUndefined();
    expect(await two.service.lookup('shared.test')).toMatchObject({ fromCache: true, rdap: { status: 'registered' } });
    expect(two.service.peek('shared.test')).toMatchObject({ fromCache: true });
    expect(fixture.hits('shared.test')).toBe(1);
  });

  it('keeps answering when a store throws, and reports it', async () => {
    const failures: string[] = [];
    const broken: DomainAgeCacheStore = {
      get: () => {
        throw new Error('disk on fire');
      },
      set: async () => {
        throw new Error('disk on fire');
      },
    };
    fixture.set('broken-store.test', { kind: 'registered', registeredAt: Date.UTC(2019, 0, 1) });
    const { service } = setup({}, { cache: broken, onStoreError: (_error, operation) => failures.push(operation) });
    expect(await service.lookup('broken-store.test')).toMatchObject({ rdap: { status: 'registered' } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures).toEqual(expect.arrayContaining(['cache_get', 'cache_set']));
  });

  it('records when the gateway first saw a domain and reports NRD listings', async () => {
    const nrd = createNrdIndex();
    nrd.replaceFeed('feed.txt', ['listed.test'], 0);
    const { clock, service } = setup({}, { nrd });
    const start = clock.now();
    const first = await service.lookup('www.listed.test');
    expect(first.firstSeen).toEqual({ at: start, trackingSince: start });
    expect(first.nrd).toEqual({ source: 'feed.txt', importedAt: 0 });
    clock.advance(3 * HOUR);
    expect((await service.lookup('mail.listed.test')).firstSeen?.at).toBe(start);
  });

  it('a redirect into private space gives an unknown age with the reason recorded, not a crash', async () => {
    fixture.set('pivot.test', { kind: 'redirect_to', location: 'http://192.168.0.1/admin' });
    const { clock, service, config } = setup({ on_unknown: 'warn' });
    const facts = await service.lookup('login.pivot.test');
    expect(facts.rdap).toEqual({ status: 'error', code: 'rdap_non_public_address', detail: '192.168.0.1 is private space' });
    const assessment = assessDomainAge(facts, config, clock.now());
    expect(assessment).toMatchObject({ state: 'unknown', action: 'warn' });
    expect(assessment.reasons).toContainEqual({ code: 'rdap_non_public_address', detail: '192.168.0.1 is private space' });
  });
});

describe('lookup budget per client', () => {
  it('a client over client_lookups_per_window gets rdap_client_limit without a request; another client starts the lookup', async () => {
    const { clock, service } = setup({ client_lookups_per_window: 2, client_lookup_window_s: 60 });
    for (const name of ['flood-1.test', 'flood-2.test', 'flood-3.test', 'target-phish.test']) fixture.set(name, { kind: 'registered', registeredAt: clock.now() - 40 * MINUTE });
    const attacker = { requester: 'ip:203.0.113.9' };
    expect(await service.lookup('flood-1.test', attacker)).toMatchObject({ rdap: { status: 'registered' } });
    expect(await service.lookup('flood-2.test', attacker)).toMatchObject({ rdap: { status: 'registered' } });
    expect(await service.lookup('flood-3.test', attacker)).toMatchObject({ rdap: { status: 'error', code: 'rdap_client_limit' } });
    expect(await service.lookup('target-phish.test', attacker)).toMatchObject({ rdap: { status: 'error', code: 'rdap_client_limit' } });
    expect(fixture.hits('flood-3.test')).toBe(0);
    expect(fixture.hits('target-phish.test')).toBe(0);
    // The refusal is not cached: the victim's own query starts the lookup and learns the real age.
    expect(service.peek('target-phish.test')).toBeUndefined();
    expect(await service.lookup('login.target-phish.test', { requester: 'ip:10.0.0.7' })).toMatchObject({
      rdap: { status: 'registered', registeredAt: clock.now() - 40 * MINUTE },
      fromCache: false,
    });
    // Cache hits cost nothing, and the budget comes back with the next window.
    expect(await service.lookup('flood-1.test', attacker)).toMatchObject({ fromCache: true });
    clock.advance(60_000);
    expect(await service.lookup('flood-3.test', attacker)).toMatchObject({ rdap: { status: 'registered' } });
  });

  it('refused clients take none of the shared in-flight capacity other clients need', async () => {
    const { clock, service } = setup({ client_lookups_per_window: 1, max_concurrent_lookups: 2 });
    fixture.set('slow-flood.test', { kind: 'slow', delayMs: 200, registeredAt: 0 });
    fixture.set('slow-victim.test', { kind: 'slow', delayMs: 200, registeredAt: clock.now() - 10 * MINUTE });
    const attacker = { requester: 'ip:198.51.100.1' };
    const running = service.lookup('slow-flood.test', attacker);
    const refused = await Promise.all(Array.from({ length: 20 }, (_, i) => service.lookup(`random-${i}.test`, attacker)));
    for (const facts of refused) expect(facts.rdap).toMatchObject({ status: 'error', code: 'rdap_client_limit' });
    expect(service.inFlight).toBe(1);
    expect(await service.lookup('slow-victim.test', { requester: 'ip:10.0.0.8' })).toMatchObject({ rdap: { status: 'registered' } });
    await running;
  });

  it('a client may hold only client_max_in_flight of the shared capacity at once', async () => {
    const { clock, service } = setup({ client_max_in_flight: 2, client_lookups_per_window: 100, max_concurrent_lookups: 10 });
    for (const name of ['held-1.test', 'held-2.test', 'held-3.test']) fixture.set(name, { kind: 'slow', delayMs: 150, registeredAt: clock.now() - HOUR });
    const client = { requester: 'ip:203.0.113.20' };
    const running = [service.lookup('held-1.test', client), service.lookup('held-2.test', client)];
    expect(await service.lookup('held-3.test', client)).toMatchObject({ rdap: { status: 'error', code: 'rdap_client_limit' } });
    expect(fixture.hits('held-3.test')).toBe(0);
    expect(service.inFlight).toBe(2);
    await Promise.all(running);
    expect(await service.lookup('held-3.test', client)).toMatchObject({ rdap: { status: 'registered' } });
  });

  it('a refusal by the shared cap does not spend the client\'s budget and is not cached', async () => {
    const { service } = setup({ client_lookups_per_window: 1, max_concurrent_lookups: 1 });
    fixture.set('cap-hog.test', { kind: 'slow', delayMs: 200, registeredAt: 0 });
    fixture.set('cap-later.test', { kind: 'registered', registeredAt: Date.UTC(2012, 0, 1) });
    const hog = service.lookup('cap-hog.test', { requester: 'ip:192.0.2.50' });
    const client = { requester: 'ip:192.0.2.51' };
    expect(await service.lookup('cap-later.test', client)).toMatchObject({ rdap: { status: 'error', code: 'rdap_overloaded' } });
    await hog;
    expect(service.peek('cap-later.test')).toBeUndefined();
    expect(await service.lookup('cap-later.test', client)).toMatchObject({ rdap: { status: 'registered' }, fromCache: false });
  });

  it('joining a lookup already in flight is free', async () => {
    const { clock, service } = setup({ client_lookups_per_window: 1 });
    fixture.set('joined.test', { kind: 'slow', delayMs: 100, registeredAt: clock.now() - HOUR });
    const first = service.lookup('joined.test', { requester: 'ip:192.0.2.60' });
    const second = service.lookupWithinBudget('www.joined.test', { requester: 'ip:192.0.2.61' });
    const third = service.lookup('mail.joined.test', { requester: 'ip:192.0.2.61' });
    for (const facts of await Promise.all([first, second, third])) expect(facts.rdap).toMatchObject({ status: 'registered' });
    expect(fixture.hits('joined.test')).toBe(1);
  });

  it('does not cache a 429: once the short backoff has passed the domain is asked again', async () => {
    const { clock, service } = setup({ rate_limit_backoff_max_s: 30 });
    fixture.set('throttled.test', { kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
    expect(await service.lookup('throttled.test')).toMatchObject({ rdap: { status: 'error', code: 'rdap_rate_limited' } });
    expect(service.peek('throttled.test')).toBeUndefined();
    fixture.set('throttled.test', { kind: 'registered', registeredAt: clock.now() - 3 * MINUTE });
    clock.advance(30_000);
    expect(await service.lookup('throttled.test')).toMatchObject({ rdap: { status: 'registered' }, fromCache: false });
    expect(fixture.hits('throttled.test')).toBe(2);
  });

  it('while a registry is paused after a 429, asking costs the client none of its budget', async () => {
    const { clock, service } = setup({ client_lookups_per_window: 1, rate_limit_backoff_max_s: 20 });
    fixture.set('paused-first.test', { kind: 'status', status: 429 });
    fixture.set('paused-second.test', { kind: 'registered', registeredAt: clock.now() - HOUR });
    expect(await service.lookup('paused-first.test')).toMatchObject({ rdap: { code: 'rdap_rate_limited' } });
    const client = { requester: 'ip:192.0.2.99' };
    for (let i = 0; i < 3; i++) expect(await service.lookup('paused-second.test', client)).toMatchObject({ rdap: { code: 'rdap_rate_limited' } });
    clock.advance(20_000);
    expect(await service.lookup('paused-second.test', client)).toMatchObject({ rdap: { status: 'registered' } });
  });
});

describe('known(): what is already in memory, for pages anyone can reach', () => {
  it('never requests, never records the name as seen, and answers once the DNS path has looked it up', async () => {
    const seen: string[] = [];
    const { clock, service } = setup({}, {
      firstSeen: { recordSeen: (domain: string) => (seen.push(domain), clock.now()), trackingSince: () => 0 },
    });
    fixture.set('host-header.test', { kind: 'registered', registeredAt: clock.now() - 5 * MINUTE });
    expect(service.known('login.host-header.test')).toBeUndefined();
    expect(service.known('printer.corp')).toMatchObject({ rdap: { status: 'no_server' } });
    await service.idle();
    expect(fixture.hits('host-header.test')).toBe(0);
    expect(seen).toEqual([]);
    await service.lookup('host-header.test', { requester: 'ip:10.0.0.9' });
    expect(service.known('login.host-header.test')).toMatchObject({ rdap: { status: 'registered' }, fromCache: true });
    expect(seen).toEqual(['host-header.test']);
  });
});

describe('memory LRU age cache', () => {
  it('is bounded and evicts the least recently used domain', () => {
    const cache = createMemoryAgeCache(2);
    const record = (domain: string): DomainAgeRecord => ({ domain, status: 'not_found', checkedAt: 0, expiresAt: 1 });
    cache.set(record('a.test'));
    cache.set(record('b.test'));
    cache.get('a.test');
    cache.set(record('c.test'));
    expect(cache.size).toBe(2);
    expect(cache.get('b.test')).toBeUndefined();
    expect(cache.get('a.test')).toBeDefined();
    expect(() => createMemoryAgeCache(0)).toThrow(RangeError);
  });
});
