import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCoreFixture, type CoreFixture } from '../../test/support/core-fixture.js';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { codeOf } from '../../test/support/error-code.js';
import { ManualClock } from '../lib/clock.js';
import { tailChangeFeed, type ChangeFeedTail } from '../store/index.js';

/**
 * Groups decide what policies allow. A removal made through one instance must reach every other
 * instance's session cache through the feed row written with it, not wait for the cache TTL: the threat
 * is a demoted administrator who keeps admin access on the instances that did not make the change.
 * The clock is manual and never advances here, so the TTL cannot be what makes the change visible.
 */

const pgAvailable = await havePostgres();
const dialects = [
  { name: 'SQLite file', url: async (dir: string) => `sqlite:${join(dir, 'shared.db')}`, notifies: false },
  // NOTIFY may wake B's tail at any moment after the commit: no assertion on the window before the poll.
  ...(pgAvailable ? [{ name: 'PostgreSQL', url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_group_feed'), notifies: true }] : []),
];

describe.each(dialects)('group changes across instances ($name)', ({ url, notifies }) => {
  let dir: string;
  let a: CoreFixture;
  let b: CoreFixture;
  let tailB: ChangeFeedTail;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-group-feed-'));
    const databaseUrl = await url(dir);
    const clock = new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
    a = await openCoreFixture({ databaseUrl, clock });
    b = await openCoreFixture({ databaseUrl, clock });
    const sessionsB = b.core.identity.sessions;
    tailB = await tailChangeFeed({ store: b.core.store, pollMs: 60_000, clock, onChange: (change) => sessionsB.applyChange(change) });
  });
  afterEach(async () => {
    await tailB.stop();
    await b.close();
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a removal through instance A is seen by instance B’s cached session after one poll, audited with the actor', async () => {
    const user = await a.core.identity.addUser({ email: 'demoted@acme.test', groups: ['admins', 'staff'], actor: 'test' });
    const { token } = await b.core.identity.sessions.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' });
    expect((await b.core.identity.sessions.validate(token))?.groups).toEqual(['admins', 'staff']);

    const { removed, user: after } = await a.core.identity.removeUserFromGroups(user.id, ['admins', 'never-member'], 'alice@acme.test');
    expect(removed).toEqual(['admins']);
    expect(after.groups).toEqual(['staff']);
    // Without NOTIFY, B's cache holds the old view until its tail reads the feed row.
    if (!notifies) expect((await b.core.identity.sessions.validate(token))?.groups).toEqual(['admins', 'staff']);
    await tailB.pollNow();
    expect((await b.core.identity.sessions.validate(token))?.groups).toEqual(['staff']);

    const [event] = await a.core.audit.list({ type: 'user.group_removed' });
    expect(event).toMatchObject({ userId: user.id, actor: 'alice@acme.test', outcome: 'success', detail: { groups: ['admins'] } });
  });

  it('an addition reaches B the same way; group_members.added_at is set for the admin-group alert', async () => {
    const user = await a.core.identity.addUser({ email: 'promoted@acme.test', groups: ['staff'], actor: 'test' });
    const { token } = await b.core.identity.sessions.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' });
    expect((await b.core.identity.sessions.validate(token))?.groups).toEqual(['staff']);

    const { added } = await a.core.identity.addUserToGroups(user.id, ['admins', 'staff'], 'alice@acme.test');
    expect(added).toEqual(['admins']);
    await tailB.pollNow();
    expect((await b.core.identity.sessions.validate(token))?.groups).toEqual(['admins', 'staff']);

    const row = await a.core.store.db.selectFrom('group_members').select('added_at').where('user_id', '=', user.id).where('group_name', '=', 'admins').executeTakeFirstOrThrow();
    expect(Number(row.added_at)).toBe(a.clock.now());
    const events = await a.core.audit.list({ type: 'user.group_added', userId: user.id });
    expect(events[0]).toMatchObject({ actor: 'alice@acme.test', detail: { groups: ['admins'] } });
  });

  it('an invite that adds groups to an existing user goes through the feed too', async () => {
    const user = await a.core.identity.addUser({ email: 'reinvited@acme.test', actor: 'test' });
    const { token } = await b.core.identity.sessions.issue({ userId: user.id, amr: ['hwk'], phishingResistant: true, ip: '192.0.2.1', userAgent: 't' });
    expect((await b.core.identity.sessions.validate(token))?.groups).toEqual([]);
    await a.core.identity.invite({ email: 'reinvited@acme.test', groups: ['oncall'], actor: 'cli' });
    await tailB.pollNow();
    expect((await b.core.identity.sessions.validate(token))?.groups).toEqual(['oncall']);
  });

  it('refuses an unknown user and a malformed group name with their codes, writing nothing', async () => {
    expect(await codeOf(a.core.identity.removeUserFromGroups('00000000-0000-4000-8000-000000000000', ['admins'], 'test'))).toBe('user_not_found');
    const user = await a.core.identity.addUser({ email: 'typo@acme.test', actor: 'test' });
    expect(await codeOf(a.core.identity.addUserToGroups(user.id, ['admins; drop'], 'test'))).toBe('invalid_group');
    expect(await a.core.audit.list({ type: 'user.group_added', userId: user.id })).toEqual([]);
  });
});
