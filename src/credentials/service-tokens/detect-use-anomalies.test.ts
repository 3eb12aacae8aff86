import { describe, expect, it } from 'vitest';
import { detectBatchAnomalies, detectUseAnomalies, type BatchHistory, type BatchSighting, type TokenUseHistory, type UseBatch } from './detect-use-anomalies.js';

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

describe('a batch of uses, judged as if each use had been judged alone', () => {
  const batchHistory = (over: Partial<BatchHistory> & { networks?: string[]; apps?: string[] } = {}): BatchHistory => {
    const networks = new Set(over.networks ?? ['198.51.100.0/24']);
    const apps = new Set(over.apps ?? ['payroll']);
    return {
      createdAt: now - 100 * DAY,
      lastUsedAt: now - DAY,
      believedUnused: false,
      seenBefore: { network: networks.size > 0, app: apps.size > 0 },
      known: (kind, value) => (kind === 'network' ? networks : apps).has(value),
      ...over,
    };
  };
  const sighting = (kind: 'network' | 'app', value: string, firstAt: number, address: string, app: string): BatchSighting => ({ kind, value, firstAt, address, app });

  it('reports every new network and app of the batch, each with the first use that touched it', () => {
    const batch: UseBatch = {
      first: { at: now, address: '198.51.100.9', app: 'payroll' },
      sightings: [
        sighting('network', '198.51.100.0/24', now, '198.51.100.9', 'payroll'),
        sighting('app', 'payroll', now, '198.51.100.9', 'payroll'),
        sighting('network', '203.0.113.0/24', now + 5, '203.0.113.7', 'payroll'),
        sighting('app', 'wiki', now + 9, '2001:db8:1::1', 'wiki'),
        sighting('network', '2001:db8:1::/48', now + 9, '2001:db8:1::1', 'wiki'),
      ],
    };
    expect(detectBatchAnomalies(batch, batchHistory(), settings)).toEqual([
      { kind: 'new_network', severity: 'warning', network: '203.0.113.0/24', at: now + 5, address: '203.0.113.7', app: 'payroll' },
      { kind: 'new_app', severity: 'warning', app: 'wiki', at: now + 9, address: '2001:db8:1::1' },
      { kind: 'new_network', severity: 'warning', network: '2001:db8:1::/48', at: now + 9, address: '2001:db8:1::1', app: 'wiki' },
    ]);
  });

  it("takes a new token's first network and app as its baseline; what follows in the same batch is new", () => {
    const batch: UseBatch = {
      first: { at: now, address: '192.0.2.1', app: 'payroll' },
      sightings: [sighting('app', 'wiki', now + 1, '192.0.2.1', 'wiki'), sighting('network', '192.0.2.0/24', now, '192.0.2.1', 'payroll'), sighting('app', 'payroll', now, '192.0.2.1', 'payroll')],
    };
    const fresh = batchHistory({ lastUsedAt: undefined, createdAt: now - DAY, networks: [], apps: [] });
    expect(detectBatchAnomalies(batch, fresh, settings)).toEqual([{ kind: 'new_app', severity: 'warning', app: 'wiki', at: now + 1, address: '192.0.2.1' }]);
  });

  it('measures silence from the previous use (or creation) to the earliest use of the batch; believed-unused comes first', () => {
    const batch: UseBatch = { first: { at: now, address: '198.51.100.9', app: 'payroll' }, sightings: [sighting('network', '198.51.100.0/24', now, '198.51.100.9', 'payroll')] };
    expect(detectBatchAnomalies(batch, batchHistory({ lastUsedAt: now - 30 * DAY + 1 }), settings)).toEqual([]);
    expect(detectBatchAnomalies(batch, batchHistory({ lastUsedAt: now - 30 * DAY }), settings)).toEqual([{ kind: 'after_silence', severity: 'warning', silentForMs: 30 * DAY, at: now, address: '198.51.100.9', app: 'payroll' }]);
    const found = detectBatchAnomalies(batch, batchHistory({ believedUnused: true, lastUsedAt: undefined, createdAt: now - 31 * DAY }), settings);
    expect(found.map((a) => [a.kind, a.severity])).toEqual([
      ['believed_unused_used', 'critical'],
      ['after_silence', 'warning'],
    ]);
    expect(found[0]).toMatchObject({ at: now, address: '198.51.100.9', app: 'payroll' });
  });
});
