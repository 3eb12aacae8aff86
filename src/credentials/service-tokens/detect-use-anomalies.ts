import { networkOf } from './network-of.js';

/** What is known of a token's past use (its sightings and last use, from the database). */
export interface TokenUseHistory {
  createdAt: number;
  lastUsedAt: number | undefined;
  knownNetworks: ReadonlySet<string>;
  knownApps: ReadonlySet<string>;
  believedUnused: boolean;
}

export interface UseAnomalySettings {
  /** A use after this long without any is an anomaly (a forgotten credential waking up). */
  silenceMs: number;
}

export type UseAnomaly =
  | { kind: 'believed_unused_used'; severity: 'critical' }
  | { kind: 'new_network'; severity: 'warning'; network: string }
  | { kind: 'new_app'; severity: 'warning'; app: string }
  | { kind: 'after_silence'; severity: 'warning'; silentForMs: number };

export type UseAnomalyKind = UseAnomaly['kind'];

/** An anomaly with the use that showed it: when, from which address, on which app. */
export type ObservedAnomaly = UseAnomaly & { at: number; address: string; app: string };

/** One network or app a batch of uses touched, with the first use that touched it. */
export interface BatchSighting {
  kind: 'network' | 'app';
  value: string;
  firstAt: number;
  /** The address and app of that first use. */
  address: string;
  app: string;
}

/** A token's uses between two writes: the earliest one, and every network and app they touched. */
export interface UseBatch {
  first: { at: number; address: string; app: string };
  sightings: readonly BatchSighting[];
}

/**
 * The history a batch is judged against, as read just before the batch is written: whether a value
 * was seen before (only the batch's values need answering), and whether the token had any sighting
 * of each kind at all (with none there is no "usual" yet).
 */
export interface BatchHistory {
  createdAt: number;
  lastUsedAt: number | undefined;
  believedUnused: boolean;
  seenBefore: { network: boolean; app: boolean };
  known(kind: 'network' | 'app', value: string): boolean;
}

/**
 * Pure: what is unusual about a batch of uses of one token, judged as if each use had been judged
 * alone, in order: a network or app is new when it is not in the history nor touched earlier in the
 * batch; the first network (or app) of a token with no history is its baseline, not new (creating a
 * token and using it is routine), the ones after it in the same batch are new. Silence is measured
 * from the previous last use (or creation) to the batch's earliest use. The 2023 intrusion came
 * through a token believed unused and so never rotated: its use is the loudest finding, first.
 */
export function detectBatchAnomalies(batch: UseBatch, history: BatchHistory, settings: UseAnomalySettings): ObservedAnomaly[] {
  const { first } = batch;
  const found: ObservedAnomaly[] = [];
  if (history.believedUnused) found.push({ kind: 'believed_unused_used', severity: 'critical', ...first });
  const seen = { network: history.seenBefore.network, app: history.seenBefore.app };
  const ordered = [...batch.sightings].sort((a, b) => a.firstAt - b.firstAt);
  for (const sighting of ordered) {
    const { kind, value } = sighting;
    const isNew = seen[kind] && !history.known(kind, value);
    seen[kind] = true;
    if (!isNew) continue;
    const where = { at: sighting.firstAt, address: sighting.address, app: sighting.app };
    found.push(kind === 'network' ? { kind: 'new_network', severity: 'warning', network: value, ...where } : { kind: 'new_app', severity: 'warning', app: value, at: where.at, address: where.address });
  }
  const since = history.lastUsedAt ?? history.createdAt;
  if (first.at - since >= settings.silenceMs) found.push({ kind: 'after_silence', severity: 'warning', silentForMs: first.at - since, ...first });
  return found;
}

/** Pure: what is unusual about one use of a token given its history (a batch of one use). */
export function detectUseAnomalies(use: { at: number; clientAddress: string; app: string }, history: TokenUseHistory, settings: UseAnomalySettings): UseAnomaly[] {
  const first = { at: use.at, address: use.clientAddress, app: use.app };
  const network = networkOf(use.clientAddress);
  const sightings: BatchSighting[] = [{ kind: 'app', value: use.app, firstAt: use.at, address: use.clientAddress, app: use.app }];
  if (network !== undefined) sightings.unshift({ kind: 'network', value: network, firstAt: use.at, address: use.clientAddress, app: use.app });
  const batchHistory: BatchHistory = {
    createdAt: history.createdAt,
    lastUsedAt: history.lastUsedAt,
    believedUnused: history.believedUnused,
    seenBefore: { network: history.knownNetworks.size > 0, app: history.knownApps.size > 0 },
    known: (kind, value) => (kind === 'network' ? history.knownNetworks : history.knownApps).has(value),
  };
  return detectBatchAnomalies({ first, sightings }, batchHistory, settings).map(withoutUse);
}

/** The anomaly alone, without the use that showed it. */
function withoutUse(observed: ObservedAnomaly): UseAnomaly {
  switch (observed.kind) {
    case 'believed_unused_used':
      return { kind: observed.kind, severity: observed.severity };
    case 'new_network':
      return { kind: observed.kind, severity: observed.severity, network: observed.network };
    case 'new_app':
      return { kind: observed.kind, severity: observed.severity, app: observed.app };
    case 'after_silence':
      return { kind: observed.kind, severity: observed.severity, silentForMs: observed.silentForMs };
  }
}
