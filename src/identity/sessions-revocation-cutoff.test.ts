import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { cryptoRandom } from '../lib/random.js';
import { openStore, type Store } from '../store/index.js';
import { SessionManager } from './sessions.js';
import { createUserDirectory } from './user-directory.js';

/**
 * "Sign everyone out" is one cut-off judged in two places: the bulk UPDATE in revokeAll and the
 * in-memory check every instance applies (from the feed, or from the settings row at start). Both must
 * draw the line in the same place, or a session in the cut-off's own millisecond survives on one path.
 */

const timeouts = { idleMs: 3_600_000, absoluteMs: 86_400_000 };
const CUTOFF = Date.UTC(2026, 10, 22, 9, 0, 0);

describe('revokeAll cut-off', () => {
  let dir: string;
  let store: Store;
  let clock: ManualClock;
  let userId: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-cutoff-'));
    store = await openStore({ url: `sqlite:${join(dir, 'store.db')}` });
    clock = new ManualClock(CUTOFF - 1000);
    const users = createUserDirectory({ db: store.db, clock, random: cryptoRandom });
    userId = (await users.add({ email: 'cutoff@acme.test' })).id;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = (sessions: SessionManager) =>
    sessions.issue({ userId, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' }, undefined, { email: 'cutoff@acme.test', name: '' });

  it('refuses a session issued in the same millisecond as the cut-off, from the cache and from the store', async () => {
    const sessions = new SessionManager(store, clock, cryptoRandom, timeouts);
    clock.set(CUTOFF);
    const before = await issue(sessions);
    await sessions.revokeAll('incident');
    // Same millisecond, after the bulk UPDATE: its row is not revoked, only the cut-off can refuse it.
    const sameMillisecond = await issue(sessions);
    clock.advance(1);
    const after = await issue(sessions);

    expect(await sessions.validate(before.token)).toBeUndefined();
    expect(await sessions.validate(sameMillisecond.token)).toBeUndefined();
    expect((await sessions.validate(after.token))?.userId).toBe(userId);

    const restarted = new SessionManager(store, clock, cryptoRandom, timeouts);
    await restarted.loadRevocationCutoff();
    expect(await restarted.validate(before.token)).toBeUndefined();
    expect(await restarted.validate(sameMillisecond.token)).toBeUndefined();
    expect((await restarted.validate(after.token))?.userId).toBe(userId);
  });

  it('revokes in the store the row created at the cut-off (the UPDATE is inclusive too)', async () => {
    const sessions = new SessionManager(store, clock, cryptoRandom, timeouts);
    clock.set(CUTOFF);
    const atCutoff = await issue(sessions);
    expect(await sessions.revokeAll('incident')).toBe(1);
    const row = await store.db.selectFrom('sessions').select(['revoked_at', 'revoked_reason']).where('id_hash', '=', atCutoff.session.idHash).executeTakeFirstOrThrow();
    expect(row).toEqual({ revoked_at: CUTOFF, revoked_reason: 'incident' });
  });

  it('refuses no session before any cut-off is known', async () => {
    const sessions = new SessionManager(store, new ManualClock(0), cryptoRandom, timeouts);
    await sessions.loadRevocationCutoff();
    const atEpoch = await issue(sessions);
    expect((await sessions.validate(atEpoch.token))?.userId).toBe(userId);
  });
});
