import type { DnsConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/index.js';
import { createDatabaseAgeCache, createDatabaseFirstSeenStore } from './database-age-stores.js';
import { createDomainAge, createMemoryAgeCache, createTieredAgeCache, type PublicOnlyAgentOptions } from './domain-age/index.js';
import { createDomainClassifier, type DomainClassifier } from './domain-verdict/index.js';
import { createLookalikeDetector, loadKnownGoodDomains, type LookalikeDetector } from './lookalike/index.js';

export interface DomainIntel {
  classifier: DomainClassifier;
  lookalike: LookalikeDetector | undefined;
  start(): void;
  stop(): Promise<void>;
}

export interface DomainIntelLogger {
  warn(object: object, message?: string): void;
}

/**
 * The domain verdicts the DNS gateway asks for: lexical lookalike detection of the protected brands
 * and the registration age (RDAP, feeds, first-seen), with caches shared through the store.
 * `offline` skips every age look-up (the CLI's `domain check --offline`).
 */
export function buildDomainIntel(options: {
  dns: DnsConfig;
  store?: Store;
  clock: Clock;
  logger?: DomainIntelLogger;
  offline?: boolean;
  /** Tests only (a local RDAP fixture); unset, RDAP never connects to non-public addresses. */
  rdapConnection?: PublicOnlyAgentOptions;
}): DomainIntel {
  const { dns, clock } = options;
  const ageConfig = options.offline ? { ...dns.age, enabled: false } : dns.age;
  const protect = dns.protect;
  const knownGood = protect?.known_good_file === undefined ? undefined : loadKnownGoodDomains(protect.known_good_file);
  const lookalike = protect ? createLookalikeDetector(protect, knownGood === undefined ? {} : { knownGood }) : undefined;
  const front = createMemoryAgeCache(ageConfig.max_cache_entries);
  const age = createDomainAge({
    config: ageConfig,
    clock,
    ...(options.store
      ? {
          cache: createTieredAgeCache(front, createDatabaseAgeCache(options.store.db)),
          firstSeen: createDatabaseFirstSeenStore(options.store.db, () => clock.now()),
        }
      : { cache: front }),
    ...(options.rdapConnection ? { rdapConnection: options.rdapConnection } : {}),
    onStoreError: (error, operation) => options.logger?.warn({ err: error, operation }, 'domain age store failed'),
  });
  const classifier = createDomainClassifier({
    // Without protected brands nothing is a lookalike; age rules still apply.
    lookalike: lookalike ?? { check: (name: string) => ({ name, lookalike: false, score: 0, reasons: [] }) },
    age: age.service,
    config: ageConfig,
    clock,
  });
  return { classifier, lookalike, start: () => age.start(), stop: () => age.stop() };
}
