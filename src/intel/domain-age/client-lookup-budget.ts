import type { DnsAgeConfig } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { RateLimiter } from '../../lib/rate-limiter.js';

export interface ClientLookupBudget {
  /**
   * Takes one lookup start for `requester`: undefined when it may start (call `release` once it
   * settles), else why not. A refusal spends nothing of the window budget when the in-flight share
   * is what is full.
   */
  take(requester: string): string | undefined;
  release(requester: string): void;
}

/**
 * What one DNS client may cost the registries and the shared lookup capacity: at most
 * `client_lookups_per_window` new lookups per window and at most `client_max_in_flight` at once. The
 * threat is a client flooding random names so that the phishing domain's lookup cannot start and its
 * age comes back "unknown" (allowed by default); beyond its budget only that client's names wait.
 */
export function createClientLookupBudget(config: DnsAgeConfig, clock: Clock): ClientLookupBudget {
  const started = new RateLimiter(clock, config.client_lookup_window_s * 1000);
  /** In flight per requester; no more keys than lookups in flight. */
  const held = new Map<string, number>();
  return {
    take(requester) {
      const holding = held.get(requester) ?? 0;
      if (holding >= config.client_max_in_flight) return `this client has ${holding} lookups in flight`;
      if (!started.take(requester, config.client_lookups_per_window)) {
        return `this client started ${config.client_lookups_per_window} lookups within ${config.client_lookup_window_s} s`;
      }
      held.set(requester, holding + 1);
      return undefined;
    },
    release(requester) {
      const left = (held.get(requester) ?? 1) - 1;
      if (left > 0) held.set(requester, left);
      else held.delete(requester);
    },
  };
}
