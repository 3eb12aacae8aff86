import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../../test/peers.js';
import { freshPostgresDatabase } from '../../../test/support/gatehouse-fixture.js';
import { createAuditLog, queryAudit, type AuditLog } from '../../audit/index.js';
import { ManualClock } from '../../lib/clock.js';
import type { LeaseRunner } from '../../lib/process-lease-holder.js';
import { cryptoRandom } from '../../lib/random.js';
import { openStore, type Store } from '../../store/index.js';
import { CredentialInventory } from '../inventory/index.js';
import type { Rotator } from '../rotation/index.js';
import { createServiceTokens, type ServiceTokens } from '../service-tokens/index.js';
import { createCampaigns, parseCampaignScope, type CampaignHooks } from './index.js';

/**
 * A claim names its holder's host and pid; a resume takes it over at once only when that holder ran
 * on this host and its process is gone. A live holder, or one on another host (whose pid cannot be
 * probed from here), keeps its claim until its lease ends: taking it would run a rotation twice at once.
 * The real-process drill (kill -9, then `campaign resume`) is test/cli/campaign-crash-drill.test.ts.
 */

const DAY = 86_400_000;
const DEAD_PID = 4242;
const runnerOf = (host: string, pid: number, isAlive: (pid: number) => boolean): LeaseRunner => ({ host, pid, isAlive });

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_campaign_lease') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`campaign claim takeover (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let audit: AuditLog;
    let tokens: ServiceTokens;
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
    let rotations = 0;
    const rotator: Rotator = {
      name: 'counting',
      validate: () => undefined,
      async rotate(_target, context) {
        rotations += 1;
        return { rotatedAt: context.now(), deliveredTo: 'none', evidence: { kind: 'old_credential_refused', at: context.now(), detail: { probe: 'counted', answer: 'refused' } } };
      },
      revoke: () => Promise.reject(new Error('not used')),
    };
    const campaignsAs = (runner: LeaseRunner, hooks?: CampaignHooks) =>
      createCampaigns({ store, clock, random: cryptoRandom, audit, tokens, rotators: new Map([['counting', rotator]]), leaseMs: 60_000, runner, hooks });
    const takeovers = async () => (await queryAudit(store.db, { type: 'campaign.lease_taken_over' })).map((e) => e.detail);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-campaign-lease-'));
      store = await openStore({ url: await engine.url(dir) });
      audit = createAuditLog({ db: store.db, clock });
      tokens = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings: { defaultTtlMs: 90 * DAY, maxTtlMs: 365 * DAY, maxOverlapMs: 7 * DAY, flushMs: 60_000, maxPending: 100 } });
      await tokens.load();
      await new CredentialInventory(store, clock, cryptoRandom, audit).add({ name: 'svc-held', kind: 'service_account', system: 'leases', owner: 'ops@acme.test', rotator: 'counting', locator: '{"account":"held"}' }, 'admin@acme.test');
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('leaves a live holder’s claim and another host’s claim alone; takes over a dead local holder’s at once, audited', async () => {
      const crashing = campaignsAs(runnerOf('gate-1', DEAD_PID, () => true), {
        afterRotate: () => {
          throw new Error('simulated crash');
        },
      });
      const started = await crashing.start({ reason: 'lease drill', scope: parseCampaignScope('system=leases'), emergency: true, actor: 'admin@acme.test' });
      const id = started.campaign.id;
      await expect(crashing.run(id, { actor: 'admin@acme.test' })).rejects.toThrow('simulated crash');
      expect(rotations).toBe(1);

      // The holder is alive (same host): its claim stands, the item is not rotated a second time.
      // The run says who holds the item and until when, instead of ending as if all were done.
      const alive = await campaignsAs(runnerOf('gate-1', 1, () => true)).run(id, { actor: 'admin@acme.test' });
      expect(alive.heldByOthers).toEqual([{ item: 'svc-held', holder: `gate-1/${DEAD_PID}`, until: expect.any(Number) }]);
      // The holder ran on another host: its pid means nothing here, even one that looks gone.
      const remote = await campaignsAs(runnerOf('gate-2', 1, () => false)).run(id, { actor: 'admin@acme.test' });
      expect(remote.heldByOthers.map((h) => h.item)).toEqual(['svc-held']);
      expect((await crashing.status(id)).byState).toEqual({ rotating: 1 });
      expect(rotations).toBe(1);
      expect(await takeovers()).toEqual([]);

      // The holder ran here and its process is gone: taken over now, not when the lease ends.
      const resumed = await campaignsAs(runnerOf('gate-1', 1, (pid) => pid !== DEAD_PID)).run(id, { actor: 'admin@acme.test' });
      expect(resumed.counts).toEqual({ done: 1 });
      expect(resumed.heldByOthers).toEqual([]);
      expect(rotations).toBe(2);
      expect(await takeovers()).toEqual([{ campaign: id, item: 'svc-held', reason: 'holder_process_gone', holder: { host: 'gate-1', pid: DEAD_PID } }]);
      const [item] = await crashing.items(id);
      expect(item).toMatchObject({ state: 'done', attempts: 2, evidence: { kind: 'old_credential_refused' } });
    });
  });
}
