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
 * The validated-session cache is bounded (a flood of distinct valid cookies must not grow the heap
 * without limit) and re-reads rows after a TTL (a change that never reached this instance's feed tail
 * still takes effect). Rows are changed directly in the database here, bypassing the feed on purpose:
 * only eviction or the TTL can make the manager see them.
 */

const timeouts = { idleMs: 3_600_000, absoluteMs: 86_400_000 };

describe('session cache bound and TTL', () => {
  let dir: string;
  let store: Store;
  let clock: ManualClock;
  let userId: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-session-cache-'));
    store = await openStore({ url: `sqlite:${join(dir, 'store.db')}` });
    clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
    const users = createUserDirectory({ db: store.db, clock, random: cryptoRandom });
    userId = (await users.add({ email: 'cache@acme.test', groups: ['staff'] })).id;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = (sessions: SessionManager) =>
    sessions.issue({ userId, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' }, undefined, { email: 'cache@acme.test', name: '' });
  const revokeBehindTheFeed = (idHash: string) =>
    store.db.updateTable('sessions').set({ revoked_at: clock.now(), revoked_reason: 'test' }).where('id_hash', '=', idHash).execute();

  it('holds at most maxEntries sessions and drops the least recently used first', async () => {
    const sessions = new SessionManager(store, clock, cryptoRandom, timeouts, { maxEntries: 2 });
    const first = await issue(sessions);
    const second = await issue(sessions);
    expect(await sessions.validate(first.token)).toBeDefined(); // first is now the most recently used
    const third = await issue(sessions);
    expect(sessions.cachedCount).toBe(2);

    for (const { session } of [first, second, third]) await revokeBehindTheFeed(session.idHash);
    // second was the oldest: evicted, so it is read again and refused; the other two are still cached.
    expect(await sessions.validate(second.token)).toBeUndefined();
    expect(await sessions.validate(first.token)).toBeDefined();
    expect(await sessions.validate(third.token)).toBeDefined();
  });

  it('re-reads a cached session after the TTL and sees a change made directly in the database', async () => {
    const sessions = new SessionManager(store, clock, cryptoRandom, timeouts, { ttlMs: 60_000 });
    const live = await issue(sessions);
    const grouped = await issue(sessions);
    await revokeBehindTheFeed(live.session.idHash);
    await store.db.insertInto('group_members').values({ user_id: userId, group_name: 'admins', added_at: clock.now() }).execute();

    clock.advance(59_999);
    expect(await sessions.validate(live.token)).toBeDefined();
    expect((await sessions.validate(grouped.token))?.groups).toEqual(['staff']);

    clock.advance(1);
    expect(await sessions.validate(live.token)).toBeUndefined();
    expect((await sessions.validate(grouped.token))?.groups).toEqual(['admins', 'staff']);
  });

  it('refuses a nonsensical bound at construction (programmer misuse)', () => {
    expect(() => new SessionManager(store, clock, cryptoRandom, timeouts, { maxEntries: 0 })).toThrow(TypeError);
    expect(() => new SessionManager(store, clock, cryptoRandom, timeouts, { ttlMs: 0 })).toThrow(TypeError);
  });
});
