import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionManager, SESSION_FEED } from '../identity/sessions.js';
import { ManualClock } from '../lib/clock.js';
import { cryptoRandom, randomToken } from '../lib/random.js';
import { hashSecret } from '../lib/secret-hash.js';
import { openStore, type Store } from './open-store.js';
import { publishChange, tailChangeFeed, type Change } from './change-feed.js';

/**
 * The node that applies a mass change also answers DNS and proxies requests. Applying a large feed
 * batch must give the event loop turns while it works, or every query waits for the whole batch.
 * SQLite is the hard case: its reads are synchronous, so only an explicit yield lets a timer run.
 * No timing is asserted (shared machines): a timer set during the apply must fire before it ends.
 */

describe('change feed tail under a mass change (SQLite file)', () => {
  let dir: string;
  let store: Store;
  let clock: ManualClock;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-feed-'));
    store = await openStore({ url: `sqlite:${join(dir, 'store.db')}` });
    clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The loop's turn is observed with setImmediate, not a timer: a 1 ms timer fires only if a
  // millisecond of wall time has passed, which a fast (or a descheduled) run need not show.
  it('applies a large batch in slices: a callback queued during the apply runs before the last row is applied', async () => {
    const applied: Change[] = [];
    let appliedWhenTimerFired: number | undefined;
    const tail = await tailChangeFeed({
      store,
      pollMs: 60_000,
      clock,
      onChange: (change) => {
        applied.push(change);
        if (applied.length === 1) setImmediate(() => (appliedWhenTimerFired = applied.length));
      },
    });
    const ROWS = 600;
    await store.db.transaction().execute(async (trx) => {
      for (let i = 0; i < ROWS; i++) await publishChange(trx, store, clock, 'test.row', { i });
    });
    await tail.pollNow();
    await tail.stop();

    expect(applied.map((c) => c.payload.i)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    expect(appliedWhenTimerFired).toBeGreaterThan(0);
    expect(appliedWhenTimerFired).toBeLessThan(ROWS);
  });

  it('a receiving instance keeps its event loop turning while it applies the revocation of many sessions', async () => {
    const USERS = 400;
    const PER_USER = 5;
    const now = clock.now();
    const userIds = Array.from({ length: USERS }, () => cryptoRandom.uuid());
    await store.db
      .insertInto('users')
      .values(userIds.map((id, i) => ({ id, email: `mass${i}@acme.test`, name: 'm', status: 'active' as const, reenroll_required: 0, created_at: now, updated_at: now })))
      .execute();
    const tokens = Array.from({ length: USERS * PER_USER }, () => randomToken(cryptoRandom, 32));
    for (let i = 0; i < tokens.length; i += 500) {
      await store.db
        .insertInto('sessions')
        .values(
          tokens.slice(i, i + 500).map((token, k) => ({
            id_hash: hashSecret(token),
            user_id: userIds[(i + k) % USERS]!,
            amr: '["hwk"]',
            phishing_resistant_at: now,
            ip: '192.0.2.1',
            user_agent: 't',
            created_at: now,
            last_seen_at: now,
            expires_at: now + 86_400_000,
            revoked_at: null,
            revoked_reason: null,
            credential_id: null,
          })),
        )
        .execute();
    }
    const timeouts = { idleMs: 3_600_000, absoluteMs: 86_400_000 };
    const sender = new SessionManager(store, clock, cryptoRandom, timeouts);
    const receiver = new SessionManager(store, clock, cryptoRandom, timeouts);
    for (const token of tokens) expect(await receiver.validate(token)).toBeDefined();

    let applying = false;
    let timerFiredDuringApply = false;
    let last = performance.now();
    let longestStallMs = 0;
    const tail = await tailChangeFeed({
      store,
      pollMs: 60_000,
      clock,
      onChange: (change) => {
        if (!applying) {
          applying = true;
          setTimeout(() => (timerFiredDuringApply = applying), 0);
        }
        receiver.applyChange(change);
      },
    });
    // One row per user, as a naive revocation loop over the service layer writes them.
    for (const userId of userIds) await sender.revokeUser(userId, 'mass revocation');
    const ticker = setInterval(() => {
      const tick = performance.now();
      longestStallMs = Math.max(longestStallMs, tick - last);
      last = tick;
    }, 1);
    last = performance.now();
    await tail.pollNow();
    applying = false;
    clearInterval(ticker);
    longestStallMs = Math.max(longestStallMs, performance.now() - last);
    await tail.stop();
    process.stdout.write(`receiving side: ${USERS} ${SESSION_FEED.revokedUser} rows, ${tokens.length} sessions, longest event-loop stall ${longestStallMs.toFixed(1)} ms\n`);

    expect(timerFiredDuringApply).toBe(true);
    expect(receiver.cachedCount).toBe(0);
    for (const token of tokens.slice(0, 50)) expect(await receiver.validate(token)).toBeUndefined();
  });
});
