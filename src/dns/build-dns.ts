import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../audit/index.js';
import type { DnsConfig } from '../config/index.js';
import type { DomainIntel, DomainVerdict } from '../intel/index.js';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { Change, Store } from '../store/index.js';
import { createDnsGateway, type DnsGateway } from './dns-gateway.js';
import { DohTokens } from './doh-tokens.js';
import { DomainBlocks } from './domain-blocks.js';
import { splitMemoryBudget } from './memory-budget.js';
import { lookupRequesterOf } from './lookup-requester.js';
import { QueryLogWriter } from './query-log-writer.js';
import type { ClientContext, Verdict } from './verdict.js';

export interface DnsLayer {
  /** Absent while `dns.enabled` is false; replaced whole by `reload`. */
  readonly gateway: DnsGateway | undefined;
  domainBlocks: DomainBlocks;
  dohTokens: DohTokens;
  /** The query log writer in force (replaced when `dns.query_log` or `dns.memory_budget_mb` change). */
  readonly queryLog: QueryLogWriter;
  readonly ports: { udp: number | null; tcp: number | null };
  /** The `dns` section in force: the last one applied. */
  readonly config: DnsConfig;
  /** The domain intelligence in force (`domain check` from the console asks the same classifier). */
  readonly intel: DomainIntel;
  /**
   * Applies a new `dns` section without a restart: the next gateway is built and prepared aside (lists
   * loaded, upstream sockets open), then listens and replaces the current one whole. If anything fails
   * the current one keeps answering and the promise rejects. `dns.doh_path` is restart-only.
   */
  reload(next: DnsConfig): Promise<void>;
  applyChange(change: Change): void;
  stop(): Promise<void>;
}

export interface LookalikeSighting {
  name: string;
  client: ClientContext;
  verdict: DomainVerdict;
}

export interface BuildDnsOptions {
  config: DnsConfig;
  /** Names no runtime block may cover (keptDomainsOf the live config): DomainBlocks refuses them. */
  keptDomains: () => readonly string[];
  /**
   * The domain intelligence, or how to build it from a `dns` section: then a reload that changes
   * `dns.protect` or `dns.age` builds it again (a fixed instance is kept across reloads).
   */
  intel: DomainIntel | ((config: DnsConfig) => DomainIntel);
  store: Store;
  audit: AuditLog;
  clock: Clock;
  random: Random;
  logger: Logger;
  registry: Registry;
  /** Folder of the config file (ConfigSnapshot.baseDir): relative blocklist paths are read from it. */
  baseDir?: string;
  /** Called when a queried name is flagged as a lookalike of a protected brand (alerts). */
  onLookalike?: (sighting: LookalikeSighting) => void;
}

function toVerdict(verdict: DomainVerdict, strictNewDomains: boolean): Verdict {
  // Strict new-domain isolation (turned on by an incident): a young domain is blocked, not just warned.
  const action = strictNewDomains && verdict.age.state === 'young' && verdict.action === 'warn' ? 'block' : verdict.action;
  return { action, reasons: verdict.reasons, humanReason: verdict.humanReason, ...(verdict.provisional ? { reusable: false } : {}) };
}

/**
 * The DNS capability assembled for the composition root: the resolver with domain intelligence as its
 * verdict hook, runtime blocks and settings from the store (applied on every instance via the change
 * feed), the batched query log and personal DoH URLs.
 */
export async function buildDns(options: BuildDnsOptions): Promise<DnsLayer> {
  const { store, clock, logger } = options;
  const domainBlocks = new DomainBlocks(store, clock, options.audit, options.keptDomains);
  const dohTokens = new DohTokens(store, clock, options.random);
  let strictNewDomains = await domainBlocks.strictNewDomains();
  const intelOf = (config: DnsConfig, previous?: DomainIntel): DomainIntel =>
    typeof options.intel === 'function' ? options.intel(config) : (previous ?? options.intel);
  const queryLogOf = (config: DnsConfig) =>
    new QueryLogWriter({
      store,
      now: () => clock.now(),
      flushIntervalMs: config.query_log.flush_interval_ms,
      maxBuffer: config.query_log.max_buffer,
      maxBytes: splitMemoryBudget(config.memory_budget_mb).queryLogBytes,
      retentionDays: config.query_log.retention_days,
      onError: (error) => logger.warn({ err: error }, 'dns query log write failed'),
    });

  const report = (name: string, client: ClientContext, verdict: DomainVerdict) => {
    if (verdict.lookalike && options.onLookalike) {
      try {
        options.onLookalike({ name, client, verdict });
      } catch (error) {
        logger.warn({ err: error }, 'lookalike alert hook failed');
      }
    }
    return toVerdict(verdict, strictNewDomains);
  };

  const gatewayOf = (config: DnsConfig, intel: DomainIntel, queryLog: QueryLogWriter): DnsGateway | undefined =>
    config.enabled
      ? createDnsGateway({
          config,
          clock,
          random: options.random,
          logger,
          dohPath: config.doh_path,
          ...(options.baseDir !== undefined ? { baseDir: options.baseDir } : {}),
          resolveDohToken: dohTokens.resolve,
          ...(config.query_log.enabled ? { queryLog } : {}),
          classify: (name, client) => {
            // Each client is charged for the registration-date lookups its queries start.
            const requester = lookupRequesterOf(client);
            const sync = intel.classifier.classifySync(name, requester);
            if (sync) return report(name, client, sync);
            return intel.classifier.classify(name, requester).then((verdict) => report(name, client, verdict));
          },
          classifyKnown: (name) => toVerdict(intel.classifier.classifyKnown(name), strictNewDomains),
        })
      : undefined;

  /** Everything derived from one `dns` section; a reload builds the next one aside and swaps it whole. */
  interface DnsState {
    config: DnsConfig;
    intel: DomainIntel;
    queryLog: QueryLogWriter;
    gateway: DnsGateway | undefined;
    ports: { udp: number | null; tcp: number | null };
  }
  // The intel's age service and the query log writer run (timers, feeds) only while a gateway does.
  const running = new Set<DomainIntel | QueryLogWriter>();
  const startParts = (parts: readonly (DomainIntel | QueryLogWriter)[]) => {
    const started = parts.filter((part) => !running.has(part));
    for (const part of started) {
      part.start();
      running.add(part);
    }
    return started;
  };
  const stopParts = async (parts: Iterable<DomainIntel | QueryLogWriter>) => {
    for (const part of [...parts]) {
      running.delete(part);
      await part.stop().catch((error: unknown) => logger.warn({ err: error }, 'dns component did not stop cleanly'));
    }
  };

  const loadBlocksInto = async (gateway: DnsGateway | undefined) => {
    const blocks = await domainBlocks.list();
    // The setting first: replacing the blocks clears the remembered verdicts (and the hot answers built
    // on them), so no query can be decided under the old setting after the clear and then kept.
    strictNewDomains = await domainBlocks.strictNewDomains();
    gateway?.replaceDynamicBlocks(blocks.map((b) => ({ name: b.name, reason: b.reason })));
  };
  const portsOf = (started: { udpPort: number | null; tcpPort: number | null }) => ({ udp: started.udpPort, tcp: started.tcpPort });
  const noPorts = { udp: null, tcp: null };

  const initialIntel = intelOf(options.config);
  const initialQueryLog = queryLogOf(options.config);
  let state: DnsState = { config: options.config, intel: initialIntel, queryLog: initialQueryLog, gateway: gatewayOf(options.config, initialIntel, initialQueryLog), ports: noPorts };
  const loadBlocks = () => loadBlocksInto(state.gateway);
  await loadBlocks();
  if (state.gateway) {
    startParts([state.intel, state.queryLog]);
    try {
      state.ports = portsOf(await state.gateway.start());
    } catch (error) {
      // Nothing is returned to stop, so what was started for the gateway is stopped here.
      await state.gateway.stop().catch(() => undefined);
      await stopParts(running);
      throw error;
    }
    state.gateway.registerMetrics(options.registry);
    logger.info({ udp: state.ports.udp, tcp: state.ports.tcp }, 'dns gateway listening');
  }

  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

  async function apply(config: DnsConfig): Promise<void> {
    const previous = state;
    if (same(previous.config, config)) return;
    const intel = same(previous.config.protect, config.protect) && same(previous.config.age, config.age) ? previous.intel : intelOf(config, previous.intel);
    const queryLog =
      same(previous.config.query_log, config.query_log) && previous.config.memory_budget_mb === config.memory_budget_mb ? previous.queryLog : queryLogOf(config);
    const gateway = gatewayOf(config, intel, queryLog);
    // Same address and port: the old listeners must let go of the port before the new ones can bind it.
    // A different address (or port 0, any free port) binds the new ones first: no gap at all.
    const rebind =
      previous.gateway !== undefined && gateway !== undefined && same(previous.config.listen, config.listen) && config.listen.port !== 0;
    let started: (DomainIntel | QueryLogWriter)[] = [];
    let ports: DnsState['ports'] = noPorts;
    if (gateway) {
      try {
        started = startParts([intel, queryLog]);
        await gateway.prepare();
        await loadBlocksInto(gateway);
      } catch (error) {
        await gateway.stop().catch(() => undefined);
        await stopParts(started);
        throw error;
      }
      if (rebind) await previous.gateway!.stop();
      try {
        ports = portsOf(await gateway.listen());
      } catch (error) {
        await gateway.stop().catch(() => undefined);
        await stopParts(started);
        if (rebind) await restore(previous);
        throw error;
      }
    }
    state = { config, intel, queryLog, gateway, ports };
    gateway?.registerMetrics(options.registry);
    if (previous.gateway && !rebind) await previous.gateway.stop().catch((error: unknown) => logger.warn({ err: error }, 'previous dns gateway did not stop cleanly'));
    const needed = new Set(gateway ? [intel, queryLog] : []);
    await stopParts([...running].filter((part) => !needed.has(part)));
    // A change-feed update that arrived while the next gateway was being prepared reaches it here.
    await loadBlocks();
    if (gateway) logger.info({ udp: ports.udp, tcp: ports.tcp }, previous.gateway ? 'dns gateway reloaded' : 'dns gateway listening');
    else if (previous.gateway) logger.info({}, 'dns gateway stopped (dns.enabled is false)');
  }

  /** The old listeners were closed for a rebind that then failed: the previous section is built again. */
  async function restore(previous: DnsState): Promise<void> {
    try {
      const gateway = gatewayOf(previous.config, previous.intel, previous.queryLog)!;
      await gateway.prepare();
      await loadBlocksInto(gateway);
      state = { ...previous, gateway, ports: portsOf(await gateway.listen()) };
      gateway.registerMetrics(options.registry);
    } catch (error) {
      state = { ...previous, gateway: undefined, ports: noPorts };
      logger.error({ err: error }, 'dns gateway could not be restarted with the previous configuration; DNS is down until the next reload');
    }
  }

  // Reloads run one at a time: each builds on the state the previous one left.
  let reloading: Promise<void> = Promise.resolve();

  return {
    get gateway() {
      return state.gateway;
    },
    domainBlocks,
    dohTokens,
    get queryLog() {
      return state.queryLog;
    },
    get ports() {
      return state.ports;
    },
    get config() {
      return state.config;
    },
    get intel() {
      return state.intel;
    },
    reload(next) {
      const run = reloading.then(() => apply(next));
      reloading = run.catch(() => undefined);
      return run;
    },
    applyChange(change) {
      if (DomainBlocks.isRelevant(change)) void loadBlocks().catch((error: unknown) => logger.warn({ err: error }, 'dns blocks reload failed'));
    },
    async stop() {
      await reloading;
      await state.gateway?.stop();
      await stopParts(running);
    },
  };
}
