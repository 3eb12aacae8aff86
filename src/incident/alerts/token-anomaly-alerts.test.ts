import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../../../test/incident/webhook-receiver.js';
import { havePostgres, POSTGRES_TEST_URL } from '../../../test/peers.js';
import { freshPostgresDatabase } from '../../../test/support/gatehouse-fixture.js';
import { createAuditLog, type AuditLog } from '../../audit/index.js';
import { createServiceTokens, type ServiceTokens, type TokenUseAnomalies, type UseAnomalyKind } from '../../credentials/index.js';
import { ManualClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { openStore, type Store } from '../../store/index.js';
import { createWebhookSender } from '../notify/webhook-sender.js';
import type { IncidentLogger } from '../playbook-context.js';
import { raiseTokenAnomalyAlerts, type TokenAnomalyAlertDeps } from './token-anomaly-alerts.js';

/**
 * Raising token anomalies against real databases and a real webhook receiver: once per anomaly when two
 * instances raise the same one at the same moment, suspension where configured, and a channel that
 * fails given back so a later raise delivers it.
 */

const DAY = 86_400_000;
const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_token_anomaly_alerts') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`token anomaly alerts (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let audit: AuditLog;
    let tokens: ServiceTokens;
    let hooks: WebhookReceiver;
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
    const errors: string[] = [];
    const logger: IncidentLogger = { info: () => {}, warn: (o, m) => errors.push(`${m} ${JSON.stringify(o)}`), error: (o, m) => errors.push(`${m} ${JSON.stringify(o)}`) };
    let suspendOn: UseAnomalyKind[] = ['believed_unused_used'];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-token-anomaly-alerts-'));
      store = await openStore({ url: await engine.url(dir) });
      audit = createAuditLog({ db: store.db, clock });
      tokens = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings: { defaultTtlMs: 90 * DAY, maxTtlMs: 365 * DAY, maxOverlapMs: 3_600_000, flushMs: 60_000, maxPending: 100 } });
      hooks = await startWebhookReceiver();
    });
    afterAll(async () => {
      await hooks?.close();
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const deps = (): TokenAnomalyAlertDeps => ({
      db: store.db,
      clock,
      audit,
      settings: () => ({ suspendOn, emailOwner: true, organisation: 'Acme' }),
      senders: () => ({ webhook: createWebhookSender(hooks.url, 5000), email: undefined }),
      logger,
      tokens,
    });
    const found = async (name: string, anomalies: TokenUseAnomalies['anomalies']): Promise<TokenUseAnomalies> => {
      const token = await tokens.show(name);
      return { tokenId: token.id, name, clientId: token.clientId, owner: token.owner, status: token.status, statusReason: token.statusReason, version: token.version, createdAt: token.createdAt, previousUseAt: token.lastUsedAt, anomalies };
    };
    const texts = (name: string) => hooks.received.map((h) => h.body.text ?? '').filter((t) => t.toLowerCase().includes(`service token ${name} `));
    const events = async (name: string) => (await audit.list({ type: 'incident.alert' })).filter((e) => e.code === 'service_token_anomaly' && e.detail.name === name);
    const newNetwork = { kind: 'new_network' as const, severity: 'warning' as const, network: '203.0.113.0/24', at: clock.now(), address: '203.0.113.9', app: 'payroll' };

    it('two instances raising the same anomaly at once deliver it once, on every channel', async () => {
      await tokens.create({ name: 'ci-deploy', owner: 'build@acme.test', apps: ['payroll'], actor: 'admin@acme.test' });
      const same = await found('ci-deploy', [newNetwork]);
      await Promise.all([raiseTokenAnomalyAlerts(deps(), [same]), raiseTokenAnomalyAlerts(deps(), [same])]);
      expect(texts('ci-deploy')).toHaveLength(1);
      expect(await events('ci-deploy')).toHaveLength(1);
      expect((await tokens.show('ci-deploy')).status).toBe('active');
      // The owner's email had no sender: said in the log, not thrown.
      expect(errors.join('\n')).toContain('no incident.smtp is configured');
    });

    it('suspends on the kinds configured, with the actor and a reason naming the anomaly', async () => {
      suspendOn = ['believed_unused_used', 'new_network'];
      await tokens.create({ name: 'strict', owner: 'build@acme.test', apps: ['payroll'], actor: 'admin@acme.test' });
      await raiseTokenAnomalyAlerts(deps(), [await found('strict', [newNetwork])]);
      expect(await tokens.show('strict')).toMatchObject({ status: 'suspended', statusReason: expect.stringContaining('token anomaly new_network') });
      expect((await audit.list({ type: 'service_token.suspended' })).find((e) => e.detail.name === 'strict')).toMatchObject({ actor: 'system:token-anomaly' });
      expect(texts('strict')[0]).toContain('It is suspended on every instance until an admin runs `gatehouse tokens resume strict`');
      expect((await events('strict'))[0]!.detail).toMatchObject({ suspended: true });
      suspendOn = ['believed_unused_used'];
    });

    it('a believed-unused use: loudest text; a revoked token is alerted on, never resumed by a suspension', async () => {
      await tokens.create({ name: 'gone', owner: 'build@acme.test', apps: ['payroll'], actor: 'admin@acme.test' });
      await tokens.revoke('gone', { actor: 'admin@acme.test' });
      const critical = { kind: 'believed_unused_used' as const, severity: 'critical' as const, at: clock.now(), address: '192.0.2.1', app: 'payroll' };
      await raiseTokenAnomalyAlerts(deps(), [await found('gone', [critical])]);
      expect(texts('gone')).toEqual([expect.stringMatching(/^:rotating_light: CRITICAL: service token gone .*believed unused/)]);
      expect((await tokens.show('gone')).status).toBe('revoked');
      // Already suspended for this very anomaly by another instance: that instance's alert is the one.
      await tokens.create({ name: 'raced', owner: 'build@acme.test', apps: ['payroll'], actor: 'admin@acme.test' });
      await raiseTokenAnomalyAlerts(deps(), [await found('raced', [critical])]);
      expect(await tokens.show('raced')).toMatchObject({ status: 'suspended' });
      await raiseTokenAnomalyAlerts(deps(), [await found('raced', [critical])]);
      expect(texts('raced')).toHaveLength(1);
    });

    it('a webhook that fails is given back and delivered by a later raise; the audit event is written once', async () => {
      await tokens.create({ name: 'flaky', owner: 'build@acme.test', apps: ['payroll'], actor: 'admin@acme.test' });
      const payload = await found('flaky', [newNetwork]);
      hooks.status = 500;
      await raiseTokenAnomalyAlerts(deps(), [payload]);
      expect(texts('flaky')).toHaveLength(0);
      expect(errors.join('\n')).toContain('not delivered');
      hooks.status = 200;
      await raiseTokenAnomalyAlerts(deps(), [payload]);
      expect(texts('flaky')).toHaveLength(1);
      expect(await events('flaky')).toHaveLength(1);
    });
  });
}
