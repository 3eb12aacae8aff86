import { expect, it } from 'vitest';
import { detectUseAnomalies, type TokenUseHistory } from './detect-use-anomalies.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 11, 7);
const settings = { silenceMs: 30 * DAY };
const history = (over: Partial<TokenUseHistory> = {}): TokenUseHistory => ({
  createdAt: now - 100 * DAY,
  lastUsedAt: now - DAY,
  knownNetworks: new Set(['198.51.100.0/24']),
  knownApps: new Set(['payroll']),
  believedUnused: false,
  ...over,
});
const use = (clientAddress: string, app = 'payroll') => ({ at: now, clientAddress, app });

it('finds nothing in routine use, and does not call a new token\'s first use new', () => {
  expect(detectUseAnomalies(use('198.51.100.9'), history(), settings)).toEqual([]);
  expect(detectUseAnomalies(use('203.0.113.1'), history({ createdAt: now - DAY, lastUsedAt: undefined, knownNetworks: new Set(), knownApps: new Set() }), settings)).toEqual([]);
});

it('reports a new network, a new app and use after long silence', () => {
  expect(detectUseAnomalies(use('203.0.113.1', 'wiki'), history({ lastUsedAt: now - 40 * DAY }), settings)).toEqual([
    { kind: 'new_network', severity: 'warning', network: '203.0.113.0/24' },
    { kind: 'new_app', severity: 'warning', app: 'wiki' },
    { kind: 'after_silence', severity: 'warning', silentForMs: 40 * DAY },
  ]);
  expect(detectUseAnomalies(use('2001:db8:1::1'), history({ knownNetworks: new Set(['2001:db8:1::/48']) }), settings)).toEqual([]);
});

it('reports the use of a token believed unused first, as critical, even from a known network', () => {
  const found = detectUseAnomalies(use('198.51.100.9'), history({ believedUnused: true, lastUsedAt: undefined, createdAt: now - 400 * DAY }), settings);
  expect(found[0]).toEqual({ kind: 'believed_unused_used', severity: 'critical' });
  expect(found.map((a) => a.kind)).toEqual(['believed_unused_used', 'after_silence']);
});
