/**
 * Composition of the DNS gateway from its validated config section: lists, cache, upstreams, client
 * policies, query handler, and the UDP/TCP listeners. Nothing is opened until `start()`.
 */
import net from 'node:net';
import { resolve } from 'node:path';
import type { Registry } from 'prom-client';
import type { DnsConfig } from '../config/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { parseIpv6GroupsInto } from '../lib/ip/ip-address.js';
import { cryptoRandom, type Random } from '../lib/random.js';
import { BlocklistStore, buildNameSet, type BlocklistSourceState, type DynamicBlock } from './blocklist-store.js';
import { ClientPolicyTable, type ClientPolicy } from './client-policies.js';
import { DomainHasher } from './domain-hash.js';
import { createDohHandler, type DohRequest, type DohResponse, type DohTokenResolver } from './doh-handler.js';
import { DnsMetrics, type DnsMemoryUse, type DnsMetricsSnapshot } from './gateway-metrics.js';
import { splitMemoryBudget } from './memory-budget.js';
import { QueryHandler } from './query-handler.js';
import { ResponseCache, type CacheLimits } from './response-cache.js';
import { createTcpServer } from './tcp-server.js';
import { createUdpServer } from './udp-server.js';
import { listenFailure } from './listen-failure.js';
import { UpstreamForwarder, type UpstreamAddress } from './upstream-forwarder.js';
import type { ClassifyHook, QueryLogEntry, QueryLogSink } from './verdict.js';
import { EDE_BLOCKED, EDE_FILTERED } from './wire-response.js';
import { explainName, type KnownVerdictHook, type NameExplanation } from './explain-name.js';

export interface DnsLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

export interface DnsGatewayOptions {
  config: DnsConfig;
  classify?: ClassifyHook;
  /** The verdict hook's answer from what it already knows (no lookups): used by `explain` only. */
  classifyKnown?: KnownVerdictHook;
  clock?: Clock;
  random?: Random;
  /** The query log (every query, field by field). */
  queryLog?: QueryLogSink;
  /** Every query as an object, for tests. */
  onQuery?: (entry: QueryLogEntry) => void;
  logger?: DnsLogger;
  resolveDohToken?: DohTokenResolver;
  /** prom-client registry for `gatehouse_dns_*` metrics. */
  registry?: Registry;
  /** Path the HTTP server mounts DoH on; `<path>/<token>` is per-user DoH. */
  dohPath?: string;
  /** Folder relative blocklist paths are read from: the config file's (ConfigSnapshot.baseDir); the working directory when absent. */
  baseDir?: string;
}

export interface DnsListState {
  sources: BlocklistSourceState[];
  dynamic: DynamicBlock[];
  allowlist: number;
  cacheEntries: number;
  /** Questions answered without re-running the pipeline (hot-answers.ts). */
  hotAnswers: number;
  /** Accounted bytes of each structure bounded by `dns.memory_budget_mb` (memory-budget.ts). */
  memory: DnsMemoryUse;
  metrics: DnsMetricsSnapshot;
}

export interface DnsGateway {
  /** `prepare()` then `listen()`. */
  start(): Promise<{ udpPort: number | null; tcpPort: number | null }>;
  /**
   * Everything but the listeners: loads the blocklists (rejects with `dns_blocklist_unreadable` as
   * `refreshBlocklists` does), schedules their refresh and opens the upstream sockets. A reload
   * prepares the next gateway while the current one still answers.
   */
  prepare(): Promise<void>;
  /** Binds the UDP and TCP listeners (after `prepare`). */
  listen(): Promise<{ udpPort: number | null; tcpPort: number | null }>;
  stop(): Promise<void>;
  /**
   * Registers the `gatehouse_dns_*` metrics of this gateway on `registry`, replacing those of a gateway
   * it succeeds (a reload): a registry holds one metric per name.
   */
  registerMetrics(registry: Registry): void;
  handleDohRequest(request: DohRequest): Promise<DohResponse>;
  blockDomain(name: string, reason: string): DynamicBlock;
  unblockDomain(name: string): boolean;
  /** Replaces all dynamic blocks with `blocks` (full-set change feed); throws InputError on a bad entry. */
  replaceDynamicBlocks(blocks: readonly { name: string; reason: string }[]): void;
  /**
   * Reloads every blocklist now (also runs on each source's schedule once started). Rejects with
   * `dns_blocklist_unreadable` when a file cannot be read; that list keeps its last good copy.
   */
  refreshBlocklists(): Promise<BlocklistSourceState[]>;
  listState(): DnsListState;
  /**
   * The decision for a name under the default client policy from what is already known, for the block
   * page: never starts a registration-date lookup (any Host header reaches it).
   */
  explain(name: string): Promise<NameExplanation>;
  readonly metrics: DnsMetrics;
}

const silentLogger: DnsLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export function parseUpstream(value: string): UpstreamAddress {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  if (!match || net.isIP(match[1]!) === 0) throw new Error(`upstream "${value}" is not ip:port`);
  return { host: match[1]!, port: Number(match[2]) };
}

/**
 * A local list is the operator's own file: one that cannot be read is a configuration mistake, reported
 * with its path and the OS reason rather than served as an empty list that blocks nothing.
 */
function unreadableLists(states: readonly BlocklistSourceState[]): GatehouseError | undefined {
  const failed = states.filter((state) => state.lastErrorCode === 'dns_blocklist_unreadable');
  if (failed.length === 0) return undefined;
  return new GatehouseError('dns_blocklist_unreadable', {
    status: 500,
    publicMessage: 'A DNS blocklist could not be read.',
    detail: failed.map((state) => `blocklist "${state.name}": ${state.lastError}`).join('; '),
  });
}

export function createDnsGateway(options: DnsGatewayOptions): DnsGateway {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const logger = options.logger ?? silentLogger;
  const baseDir = options.baseDir ?? process.cwd();
  const hasher = new DomainHasher(random.bytes(8));
  const metrics = new DnsMetrics();
  // eslint-disable-next-line prefer-const -- assigned below, after the store whose callback reads it
  let handler: QueryHandler | undefined;

  const store = new BlocklistStore({
    sources: config.blocklists.map((list) => ({
      name: list.name,
      ...(list.path !== undefined ? { path: resolve(baseDir, list.path) } : {}),
      ...(list.url !== undefined ? { url: list.url } : {}),
      format: list.format,
      refreshIntervalS: list.refresh_interval_s,
      infoCode: list.ede === 'filtered' ? EDE_FILTERED : EDE_BLOCKED,
    })),
    allowlist: config.allowlist,
    hasher,
    now: () => clock.now(),
    maxSourceBytes: config.blocklist_max_bytes,
    fetchTimeoutMs: config.blocklist_fetch_timeout_ms,
    onChange: () => handler?.clearVerdicts(),
  });

  const allLists = config.blocklists.map((_, i) => i);
  const defaultPolicy: ClientPolicy = {
    name: 'default', mode: config.default_mode, blocklists: allLists, allowlist: buildNameSet([], hasher),
    blockResponse: config.block_response, classify: true,
  };
  const policies = new ClientPolicyTable(
    config.policies.map((policy) => ({
      networks: policy.networks,
      policy: {
        name: policy.name,
        mode: policy.mode,
        blocklists: policy.blocklists ? policy.blocklists.map((name) => store.indexOf(name)) : allLists,
        allowlist: buildNameSet(policy.allowlist, hasher),
        blockResponse: policy.block_response ?? config.block_response,
        classify: policy.classify,
      },
    })),
    defaultPolicy,
  );

  // A count bound alone lets a flood of unique names fill every slot: each structure also gets its
  // share of the byte budget (the query log's share is applied by build-dns.ts, which owns the log).
  const budget = splitMemoryBudget(config.memory_budget_mb);
  const cacheLimits: CacheLimits = {
    minTtlS: config.cache.min_ttl_s, maxTtlS: config.cache.max_ttl_s,
    negativeMaxTtlS: config.cache.negative_max_ttl_s, maxEntries: config.cache.max_entries, maxBytes: budget.answerCacheBytes,
  };
  const cache = new ResponseCache(cacheLimits, config.serve_stale_s * 1000);
  const forwarder = new UpstreamForwarder({
    upstreams: config.upstreams.map(parseUpstream),
    timeoutMs: config.upstream_timeout_ms,
    retries: config.upstream_retries,
    sockets: config.upstream_sockets,
    random,
    now: () => performance.now(),
    onAttemptFailed: (upstream, why) => {
      metrics.upstreamFailures++;
      logger.warn({ upstream, why }, 'dns upstream attempt failed');
    },
  });
  const blockPage: { ipv4?: Buffer; ipv6?: Buffer } = {};
  if (config.block_page.ipv4) blockPage.ipv4 = Buffer.from(config.block_page.ipv4.split('.').map(Number));
  if (config.block_page.ipv6) blockPage.ipv6 = ipv6Bytes(config.block_page.ipv6);

  handler = new QueryHandler({
    store, policies, cache, cacheLimits, forwarder, hasher, metrics, clock,
    monotonicMs: () => performance.now(),
    maxUdpPayload: config.max_udp_payload,
    blockTtlS: config.block_ttl_s,
    blockPage,
    ...(options.classify ? { classify: options.classify } : {}),
    classifyBudgetMs: config.classify_budget_ms,
    onClassifyTimeout: config.on_classify_timeout,
    verdictCacheTtlMs: config.verdict_cache_ttl_s * 1000,
    hotAnswerBytes: budget.hotAnswerBytes,
    verdictMemoBytes: budget.verdictMemoBytes,
    upstreamHoldDownMs: config.upstream_hold_down_ms,
    ...(options.queryLog ? { queryLog: options.queryLog } : {}),
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    onHookError: (where, error) => logger.error({ where, err: error }, 'dns hook failed'),
  });
  const queryHandler = handler;
  const memoryUse = (): DnsMemoryUse => {
    const { hotAnswers, verdictMemo } = queryHandler.memoryUse();
    const queryLog = options.queryLog?.memoryUse?.();
    return { answer_cache: cache.memoryUse(), hot_answers: hotAnswers, verdict_memo: verdictMemo, ...(queryLog ? { query_log: queryLog } : {}) };
  };
  const registerMetrics = (registry: Registry) => {
    for (const metric of registry.getMetricsAsArray()) {
      if (metric.name.startsWith('gatehouse_dns_')) registry.removeSingleMetric(metric.name);
    }
    metrics.register(registry, () => cache.size, memoryUse);
  };
  if (options.registry) registerMetrics(options.registry);

  const onError = (error: unknown) => logger.error({ err: error }, 'dns query failed');
  const udp = config.listen.udp ? createUdpServer({ address: config.listen.address, port: config.listen.port, handler: queryHandler, onError }) : undefined;
  const tcp = config.listen.tcp
    ? createTcpServer({
        address: config.listen.address, port: config.listen.port, handler: queryHandler,
        idleTimeoutMs: config.tcp_idle_timeout_ms, maxConnections: config.tcp_max_connections, onError,
      })
    : undefined;
  const timers: NodeJS.Timeout[] = [];
  const report = (state: BlocklistSourceState) => {
    if (state.lastErrorCode === 'dns_blocklist_unreadable') logger.error({ list: state.name, error: state.lastError }, 'dns blocklist cannot be read; the last good copy stays');
    else if (state.lastError) logger.warn({ list: state.name, error: state.lastError }, 'dns blocklist not loaded; the last good copy stays');
    else logger.info({ list: state.name, entries: state.entries, loadMs: state.loadMs }, 'dns blocklist loaded');
  };
  const refreshAll = async () => {
    const states = await store.refreshAll();
    states.forEach(report);
    const failure = unreadableLists(states);
    if (failure) throw failure;
    return states;
  };

  const gateway: DnsGateway = {
    metrics,
    registerMetrics,
    async start() {
      await gateway.prepare();
      return gateway.listen();
    },
    async prepare() {
      await refreshAll();
      store.sources.forEach((source, index) => {
        if (source.refreshIntervalS <= 0) return;
        const timer = setInterval(() => void store.refresh(index).then(report), source.refreshIntervalS * 1000);
        timer.unref();
        timers.push(timer);
      });
      await forwarder.start();
    },
    async listen() {
      const { address, port } = config.listen;
      const udpPort = udp ? await udp.start().catch((error: unknown) => Promise.reject(listenFailure(error, { address, port, protocol: 'UDP' }))) : null;
      let tcpPort: number | null = null;
      try {
        // With port 0 the TCP listener takes the UDP port, so one number serves both (as dig expects);
        // only then may it fall back to another free port. A configured port is that port or a failure.
        if (tcp) tcpPort = await tcp.start(port === 0 && udpPort !== null ? udpPort : port).catch((error: unknown) => (port === 0 ? tcp.start(0) : Promise.reject(error)));
      } catch (error) {
        await udp?.stop();
        throw listenFailure(error, { address, port, protocol: 'TCP' });
      }
      return { udpPort, tcpPort };
    },
    async stop() {
      for (const timer of timers) clearInterval(timer);
      timers.length = 0;
      await Promise.all([udp?.stop(), tcp?.stop()]);
      forwarder.stop();
    },
    handleDohRequest: createDohHandler({
      handler: queryHandler,
      ...(options.resolveDohToken ? { resolveToken: options.resolveDohToken } : {}),
      policyNamed: (name) => policies.named(name),
      pathPrefix: options.dohPath ?? '/dns-query',
      allowAnonymous: config.doh_allow_anonymous,
      onRefused: (code, client) => logger.warn({ code, client }, 'dns doh request refused'),
    }),
    blockDomain: (name, reason) => store.blockDomain(name, reason),
    unblockDomain: (name) => store.unblockDomain(name),
    replaceDynamicBlocks: (blocks) => store.replaceDynamicBlocks(blocks),
    refreshBlocklists: refreshAll,
    explain: (name) => explainName(name, { store, hasher, policy: defaultPolicy, classifyKnown: options.classifyKnown }),
    listState: () => ({
      sources: store.states.map((state) => ({ ...state })),
      dynamic: store.listDynamic(),
      allowlist: store.allowlist.size,
      cacheEntries: cache.size,
      hotAnswers: queryHandler.hotAnswers,
      memory: memoryUse(),
      metrics: metrics.snapshot(),
    }),
  };
  return gateway;
}

function ipv6Bytes(input: string): Buffer {
  // As written, without folding a mapped address to IPv4: an AAAA answer carries all 16 bytes.
  const groups = new Uint16Array(8);
  if (!parseIpv6GroupsInto(input, groups)) throw new TypeError(`dns.block_page.ipv6: ${JSON.stringify(input)} is not an IPv6 address`);
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => out.writeUInt16BE(group, i * 2));
  return out;
}
