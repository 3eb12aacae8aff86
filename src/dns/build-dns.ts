import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../audit/index.js';
import type { DnsConfig } from '../config/sections/dns.js';
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
  /** Absent when `dns.enabled` is false. */
  gateway: DnsGateway | undefined;
  domainBlocks: DomainBlocks;
  dohTokens: DohTokens;
  queryLog: QueryLogWriter;
  ports: { udp: number | null; tcp: number | null };
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
  intel: DomainIntel;
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
  const { config, intel, store, clock, logger } = options;
  const domainBlocks = new DomainBlocks(store, clock, options.audit);
  const dohTokens = new DohTokens(store, clock, options.random);
  let strictNewDomains = await domainBlocks.strictNewDomains();
  const queryLog = new QueryLogWriter({
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

  const gateway = config.enabled ? createDnsGateway({
    config,
    clock,
    random: options.random,
    logger,
    registry: options.registry,
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
  }) : undefined;

  const loadBlocks = async () => {
    const blocks = await domainBlocks.list();
    // The setting first: replacing the blocks clears the remembered verdicts (and the hot answers built
    // on them), so no query can be decided under the old setting after the clear and then kept.
    strictNewDomains = await domainBlocks.strictNewDomains();
    gateway?.replaceDynamicBlocks(blocks.map((b) => ({ name: b.name, reason: b.reason })));
  };
  await loadBlocks();
  let started: { udpPort: number | null; tcpPort: number | null } = { udpPort: null, tcpPort: null };
  if (gateway) {
    intel.start();
    queryLog.start();
    try {
      started = await gateway.start();
    } catch (error) {
      // Nothing is returned to stop, so what was started for the gateway is stopped here.
      await queryLog.stop();
      await intel.stop();
      throw error;
    }
    logger.info({ udp: started.udpPort, tcp: started.tcpPort }, 'dns gateway listening');
  }

  return {
    gateway,
    domainBlocks,
    dohTokens,
    queryLog,
    ports: { udp: started.udpPort, tcp: started.tcpPort },
    applyChange(change) {
      if (DomainBlocks.isRelevant(change)) void loadBlocks().catch((error: unknown) => logger.warn({ err: error }, 'dns blocks reload failed'));
    },
    async stop() {
      if (!gateway) return;
      await gateway.stop();
      await queryLog.stop();
      await intel.stop();
    },
  };
}
