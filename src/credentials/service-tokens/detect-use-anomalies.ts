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

/**
 * Pure: what is unusual about one use of a token given its history. The 2023 intrusion came through
 * a token believed unused and so never rotated: its use is the loudest finding, whatever else holds.
 * A token with no history yet has no "usual" network or app, so its first use is not called new
 * (creating a token and using it is routine); long silence before a first use still counts.
 */
export function detectUseAnomalies(use: { at: number; clientAddress: string; app: string }, history: TokenUseHistory, settings: UseAnomalySettings): UseAnomaly[] {
  const found: UseAnomaly[] = [];
  if (history.believedUnused) found.push({ kind: 'believed_unused_used', severity: 'critical' });
  const network = networkOf(use.clientAddress);
  if (network !== undefined && history.knownNetworks.size > 0 && !history.knownNetworks.has(network)) found.push({ kind: 'new_network', severity: 'warning', network });
  if (history.knownApps.size > 0 && !history.knownApps.has(use.app)) found.push({ kind: 'new_app', severity: 'warning', app: use.app });
  const since = history.lastUsedAt ?? history.createdAt;
  if (use.at - since >= settings.silenceMs) found.push({ kind: 'after_silence', severity: 'warning', silentForMs: use.at - since });
  return found;
}
