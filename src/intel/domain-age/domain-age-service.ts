import type { DnsAgeConfig } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { createClientLookupBudget } from './client-lookup-budget.js';
import { createMemoryAgeCache, type DomainAgeCacheStore, type DomainAgeRecord } from './age-cache.js';
import { createMemoryFirstSeenStore, type FirstSeenStore } from './first-seen.js';
import { createNrdIndex, type NrdIndex, type NrdListing } from './nrd-index.js';
import { longestSuffixMatch, type RdapBootstrap } from './rdap-bootstrap.js';
import type { PublicOnlyAgentOptions } from './public-only-agent.js';
import { createRdapClient } from './rdap-client.js';
import type { RdapErrorCode, RdapLookupOutcome } from './rdap-lookup-outcome.js';
import { registrableDomainOf } from './registrable-domain.js';

/** What RDAP said about a registrable domain, as the policy sees it. */
export type RdapFinding =
  | { status: 'registered'; registeredAt: number }
  | { status: 'no_registration_date' | 'not_found' | 'no_server' }
  | { status: 'error'; code: RdapErrorCode; detail: string }
  /** Not answered within the time budget; the lookup continues in the background. */
  | { status: 'pending' }
  /** IP address, single label or invalid name: there is no registrable domain to ask about. */
  | { status: 'not_applicable' };

export interface DomainAgeFacts {
  registrableDomain: string | undefined;
  rdap: RdapFinding;
  /** The RDAP finding came from the cache (no request made for this query). */
  fromCache: boolean;
  nrd?: NrdListing;
  /** First time this gateway saw the registrable domain, and since when it has been recording. */
  firstSeen?: { at: number; trackingSince: number };
}

export interface DomainAgeServiceOptions {
  config: DnsAgeConfig;
  clock: Clock;
  bootstrap: { current(): RdapBootstrap };
  cache?: DomainAgeCacheStore;
  firstSeen?: FirstSeenStore;
  nrd?: NrdIndex;
  /** RDAP connection settings; the composition root leaves it unset, so non-public targets are refused. */
  rdapConnection?: PublicOnlyAgentOptions;
  /** Every RDAP request's outcome (logs, metrics). */
  onLookup?: (outcome: RdapLookupOutcome) => void;
  /** A cache or first-seen store failed; the query goes on without it. */
  onStoreError?: (error: unknown, operation: string) => void;
}

export interface AgeLookupOptions {
  /**
   * Who the lookup is for: a DNS client address (an IPv6 /64) or a DoH user. Each requester may start
   * `client_lookups_per_window` new RDAP requests per window; joining one in flight or a cache hit is
   * free. Unset only for the operator's own checks (the CLI), which the shared cap alone bounds.
   */
  requester?: string;
}

export interface DomainAgeService {
  /**
   * Synchronous answer from what is already known, or undefined when an RDAP lookup is needed. Records
   * the domain as seen (first-seen table): for names a client really queried.
   */
  peek(name: string): DomainAgeFacts | undefined;
  /**
   * Like `peek`, but records nothing and never leads to a lookup: for pages that show what the gateway
   * already decided (the block page), reachable with any Host header.
   */
  known(name: string): DomainAgeFacts | undefined;
  /** Waits for RDAP (bounded by `request_timeout_ms`); never rejects. */
  lookup(name: string, options?: AgeLookupOptions): Promise<DomainAgeFacts>;
  /** Waits at most `budgetMs` (default `time_budget_ms`), then answers `pending` and lets the lookup finish. */
  lookupWithinBudget(name: string, options?: AgeLookupOptions & { budgetMs?: number }): Promise<DomainAgeFacts>;
  /** Resolves when no lookup is in flight (tests, graceful shutdown). */
  idle(): Promise<void>;
  readonly inFlight: number;
}

function findingOf(record: DomainAgeRecord): RdapFinding {
  if (record.status === 'registered' && record.registeredAt !== undefined) return { status: 'registered', registeredAt: record.registeredAt };
  if (record.status === 'error') return { status: 'error', code: record.errorCode ?? 'rdap_network', detail: record.detail ?? '' };
  return { status: record.status === 'registered' ? 'no_registration_date' : record.status };
}

/** Refusals made without asking the registry about the domain: never cached. */
const NOT_CACHED: ReadonlySet<RdapErrorCode> = new Set(['rdap_overloaded', 'rdap_client_limit', 'rdap_rate_limited']);

export function createDomainAgeService(options: DomainAgeServiceOptions): DomainAgeService {
  const { config, clock } = options;
  const cache = options.cache ?? createMemoryAgeCache(config.max_cache_entries);
  const firstSeenStore = options.firstSeen ?? createMemoryFirstSeenStore({ clock, maxEntries: config.first_seen.max_entries });
  const nrd = options.nrd ?? createNrdIndex();
  const storeError = (error: unknown, operation: string) => {
    try {
      options.onStoreError?.(error, operation);
    } catch {
      // Reporting is best effort; the query goes on.
    }
  };
  const overrides = new Map(
    Object.entries(config.rdap_overrides).map(([suffix, url]) => [suffix.toLowerCase().replace(/^\.|\.$/g, ''), url.endsWith('/') ? url : `${url}/`]),
  );
  const client = createRdapClient({
    baseUrlFor: (domain) => longestSuffixMatch(overrides, domain) ?? options.bootstrap.current().baseUrlFor(domain),
    clock,
    timeoutMs: config.request_timeout_ms,
    maxResponseBytes: config.max_response_bytes,
    maxRedirects: config.max_redirects,
    backoff: { defaultMs: config.rate_limit_backoff_s * 1000, maxMs: config.rate_limit_backoff_max_s * 1000 },
    ...(options.rdapConnection ? { connection: options.rdapConnection } : {}),
  });
  const inFlight = new Map<string, Promise<RdapFinding>>();
  const budget = createClientLookupBudget(config, clock);
  /** Every lookup not yet settled, including the part before it reaches `inFlight` (store reads). */
  const unsettled = new Set<Promise<unknown>>();

  function track<T>(promise: Promise<T>): Promise<T> {
    unsettled.add(promise);
    promise.finally(() => unsettled.delete(promise)).catch(() => undefined);
    return promise;
  }

  function fresh(record: DomainAgeRecord | undefined): DomainAgeRecord | undefined {
    return record && record.expiresAt > clock.now() ? record : undefined;
  }

  /** NRD listing and first-seen: known synchronously for in-memory stores. */
  function context(domain: string, sync: boolean): DomainAgeFacts | Promise<DomainAgeFacts> {
    const nrdListing = nrd.lookup(domain);
    const base: DomainAgeFacts = { registrableDomain: domain, rdap: { status: 'pending' }, fromCache: false, ...(nrdListing ? { nrd: nrdListing } : {}) };
    let at: number | Promise<number>;
    let since: number | Promise<number>;
    try {
      at = firstSeenStore.recordSeen(domain, clock.now());
      since = firstSeenStore.trackingSince();
    } catch (error) {
      storeError(error, 'first_seen');
      return base;
    }
    if (!(at instanceof Promise) && !(since instanceof Promise)) return { ...base, firstSeen: { at, trackingSince: since } };
    const pending = Promise.all([at, since]);
    if (sync) {
      pending.catch((error: unknown) => storeError(error, 'first_seen'));
      return base;
    }
    return pending.then(
      ([seenAt, tracking]) => ({ ...base, firstSeen: { at: seenAt, trackingSince: tracking } }),
      (error: unknown) => {
        storeError(error, 'first_seen');
        return base;
      },
    );
  }

  function withoutRecording(domain: string): DomainAgeFacts {
    const nrdListing = nrd.lookup(domain);
    return { registrableDomain: domain, rdap: { status: 'pending' }, fromCache: false, ...(nrdListing ? { nrd: nrdListing } : {}) };
  }

  function remember(outcome: RdapLookupOutcome): void {
    if (outcome.status === 'no_server') return;
    // Refusals say nothing about the domain. Kept, a 429 (which a flood can provoke) would make every
    // domain asked about during the pause "unknown" for `negative_cache_ttl_minutes`.
    if (outcome.status === 'error' && NOT_CACHED.has(outcome.code)) return;
    const now = clock.now();
    // A 404 or an error is cached briefly: the attacker's domain may be registered minutes from now.
    const ttl = outcome.status === 'registered' ? config.cache_ttl_hours * 3_600_000 : config.negative_cache_ttl_minutes * 60_000;
    const record: DomainAgeRecord = { domain: outcome.domain, status: outcome.status, checkedAt: now, expiresAt: now + ttl };
    if (outcome.status === 'registered') record.registeredAt = outcome.registeredAt;
    if (outcome.status === 'error') Object.assign(record, { errorCode: outcome.code, detail: outcome.detail });
    try {
      const written = cache.set(record);
      if (written instanceof Promise) written.catch((error: unknown) => storeError(error, 'cache_set'));
    } catch (error) {
      storeError(error, 'cache_set');
    }
  }

  async function query(domain: string): Promise<RdapFinding> {
    let outcome: RdapLookupOutcome;
    try {
      outcome = await client.lookupDomain(domain);
    } catch (error) {
      // lookupDomain turns every expected failure into a value; this is the unexpected rest.
      outcome = { status: 'error', domain, code: 'rdap_network', detail: (error as Error).message };
    }
    try {
      options.onLookup?.(outcome);
    } catch {
      // A failing log hook must not fail the DNS query.
    }
    remember(outcome);
    return outcome.status === 'registered'
      ? { status: 'registered', registeredAt: outcome.registeredAt }
      : outcome.status === 'error'
        ? { status: 'error', code: outcome.code, detail: outcome.detail }
        : { status: outcome.status };
  }

  /**
   * One request per registrable domain at a time (RFC 7480 §5.5 asks clients not to flood servers).
   * A requester over its own budget (client-lookup-budget.ts) is refused before it takes any shared
   * capacity. The shared cap and a registry pause are checked first, so that a refusal by them does
   * not also spend the requester's budget.
   */
  function coalesced(domain: string, requester: string | undefined): Promise<RdapFinding> {
    const running = inFlight.get(domain);
    if (running) return running;
    if (inFlight.size >= config.max_concurrent_lookups) {
      return Promise.resolve({ status: 'error', code: 'rdap_overloaded', detail: `${inFlight.size} lookups in flight` });
    }
    // While the registry is paused no request is made: nothing to charge the client for.
    const paused = client.pausedFor(domain);
    if (paused > 0) return Promise.resolve({ status: 'error', code: 'rdap_rate_limited', detail: `registry paused for ${Math.ceil(paused / 1000)} s after a 429` });
    const refusal = requester === undefined ? undefined : budget.take(requester);
    if (refusal !== undefined) return Promise.resolve({ status: 'error', code: 'rdap_client_limit', detail: refusal });
    const started = query(domain).finally(() => {
      inFlight.delete(domain);
      if (requester !== undefined) budget.release(requester);
    });
    inFlight.set(domain, started);
    return started;
  }

  async function cached(domain: string): Promise<DomainAgeRecord | undefined> {
    try {
      return fresh(await cache.get(domain));
    } catch (error) {
      storeError(error, 'cache_get');
      return undefined;
    }
  }

  function peek(name: string): DomainAgeFacts | undefined {
    return fromMemory(name, true);
  }

  function known(name: string): DomainAgeFacts | undefined {
    return fromMemory(name, false);
  }

  /** Cache (synchronous part only), NRD index and, when `recordSeen`, the first-seen table. */
  function fromMemory(name: string, recordSeen: boolean): DomainAgeFacts | undefined {
    const domain = registrableDomainOf(name);
    if (!domain) return { registrableDomain: undefined, rdap: { status: 'not_applicable' }, fromCache: false };
    let record: DomainAgeRecord | Promise<DomainAgeRecord | undefined> | undefined;
    try {
      record = cache.get(domain);
    } catch (error) {
      storeError(error, 'cache_get');
    }
    if (record instanceof Promise) {
      record.catch((error: unknown) => storeError(error, 'cache_get'));
      record = undefined;
    }
    const hit = fresh(record);
    const facts = recordSeen ? (context(domain, true) as DomainAgeFacts) : withoutRecording(domain);
    if (hit) return { ...facts, rdap: findingOf(hit), fromCache: true };
    if (!client.hasServer(domain)) return { ...facts, rdap: { status: 'no_server' } };
    return undefined;
  }

  /** Context, then cache, then RDAP; `onContext` sees the facts known before RDAP answers. */
  async function resolve(domain: string, requester: string | undefined, onContext: (facts: DomainAgeFacts) => void): Promise<DomainAgeFacts> {
    const facts = await context(domain, false);
    onContext(facts);
    const hit = await cached(domain);
    if (hit) return { ...facts, rdap: findingOf(hit), fromCache: true };
    return { ...facts, rdap: await coalesced(domain, requester) };
  }

  async function lookup(name: string, lookupOptions: AgeLookupOptions = {}): Promise<DomainAgeFacts> {
    const domain = registrableDomainOf(name);
    if (!domain) return { registrableDomain: undefined, rdap: { status: 'not_applicable' }, fromCache: false };
    return track(resolve(domain, lookupOptions.requester, () => undefined));
  }

  async function lookupWithinBudget(name: string, lookupOptions: AgeLookupOptions & { budgetMs?: number } = {}): Promise<DomainAgeFacts> {
    const { budgetMs = config.time_budget_ms, requester } = lookupOptions;
    const domain = registrableDomainOf(name);
    if (!domain) return { registrableDomain: undefined, rdap: { status: 'not_applicable' }, fromCache: false };
    let beforeRdap: DomainAgeFacts = { registrableDomain: domain, rdap: { status: 'pending' }, fromCache: false };
    const full = track(
      resolve(domain, requester, (facts) => {
        beforeRdap = facts;
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<'budget'>((done) => {
      timer = setTimeout(() => done('budget'), budgetMs);
    });
    const first = await Promise.race([full, budget]);
    clearTimeout(timer);
    // The lookup keeps running and fills the cache: the next query for this domain gets the answer.
    return first === 'budget' ? { ...beforeRdap, rdap: { status: 'pending' } } : first;
  }

  return {
    peek,
    known,
    lookup,
    lookupWithinBudget,
    async idle() {
      while (unsettled.size > 0 || inFlight.size > 0) await Promise.allSettled([...unsettled, ...inFlight.values()]);
    },
    get inFlight() {
      return inFlight.size;
    },
  };
}
