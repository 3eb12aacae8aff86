import type { Change } from '../../store/index.js';
import { SERVICE_TOKEN_FEED } from './service-token-repository.js';
import { stateOfPayload, type ServiceTokenState } from './service-token-state.js';

/**
 * The token states a change-feed row carries: one for `service_token.changed`, every one of a bulk
 * change for `service_token.changed_many`, none for a row of another kind. A malformed state is
 * counted and left out, the others are kept: a bulk revocation with one unreadable entry must still
 * cut off every token it can read (the verifier keeps what it had for the one it cannot).
 */
export function serviceTokenStatesOf(change: Change): { states: ServiceTokenState[]; malformed: number } {
  if (change.kind === SERVICE_TOKEN_FEED.changed) {
    const state = stateOfPayload(change.payload);
    return state ? { states: [state], malformed: 0 } : { states: [], malformed: 1 };
  }
  if (change.kind !== SERVICE_TOKEN_FEED.changedMany) return { states: [], malformed: 0 };
  const items: unknown = change.payload.states;
  if (!Array.isArray(items)) return { states: [], malformed: 1 };
  const states: ServiceTokenState[] = [];
  for (const item of items) {
    const state = typeof item === 'object' && item !== null ? stateOfPayload(item as Record<string, unknown>) : undefined;
    if (state) states.push(state);
  }
  return { states, malformed: items.length - states.length };
}
