/**
 * Two Gatehouse processes on one PostgreSQL: a session revoked through one is refused by the
 * other, and an IP blocked through one is refused by the other, through the change feed
 * (LISTEN/NOTIFY). The measured delay is printed, not asserted (shared, noisy machines).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { fixtureConfigYaml, freePort, freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';
import { spawnGatehouse, type GatehouseProcess } from '../support/serve-process.js';

const pgAvailable = await havePostgres();

async function pollUntil(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > limitMs) throw new Error(`not seen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - start;
}

describe.runIf(pgAvailable)('two instances sharing PostgreSQL', () => {
  let upstream: http.Server;
  let a: GatehouseFixture;
  let b: GatehouseProcess;
  let portB: number;
  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const apps = `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}
    policies: [{ action: allow, include: [{ everyone: true }] }]
`;
    const databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_multi');
    a = await startFixture({ databaseUrl, extraYaml: apps });
    portB = await freePort();
    const configB = join(a.dir, 'instance-b.yaml');
    writeFileSync(configB, fixtureConfigYaml({ dir: a.dir, port: portB, databaseUrl, extraYaml: apps }));
    b = await spawnGatehouse(configB);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await new Promise((r) => upstream?.close(r));
  });

  it('a session revoked through one instance is refused by the other', async () => {
    const browser = new TestBrowser(a.port);
    await enrolThroughPortal(a, browser, 'multi@acme.test');
    const cookie = browser.cookies(a.portalHost).get('gatehouse_session')!;
    const onB = new TestBrowser(portB);
    onB.cookies(a.portalHost).set('gatehouse_session', cookie);
    const accountOnB = () => onB.fetch(`http://${a.portalHost}:${portB}/account`);
    expect((await accountOnB()).status).toBe(200); // B has it cached now
    const user = await a.gatehouse.core.identity.users.require('multi@acme.test');
    await a.gatehouse.core.identity.revokeUserSessions(user.id, { actor: 'test', reason: 'multi-instance test' });
    const delay = await pollUntil(async () => (await accountOnB()).status === 303, 5000);
    process.stdout.write(`[measured] revocation seen by the other instance after ${delay.toFixed(1)} ms\n`);
  });

  it('removing a key ends, on the other instance, the sessions that key opened (and only those)', async () => {
    const browser = new TestBrowser(a.port);
    const key = await enrolThroughPortal(a, browser, 'two-keys@acme.test');
    const openedByKey = browser.cookies(a.portalHost).get('gatehouse_session')!;
    const user = await a.gatehouse.core.identity.users.require('two-keys@acme.test');
    // A second key, and a session of its own, made directly in the store: what matters here is which
    // credential each session records.
    const [first] = await a.gatehouse.core.identity.credentials.listForUser(user.id);
    const second = await a.gatehouse.core.identity.credentials.add({ ...first!, id: `${first!.id}-second`, name: 'Second key' });
    const other = await a.gatehouse.core.identity.sessions.issue({ userId: user.id, amr: ['swk'], phishingResistant: true, ip: '127.0.0.1', userAgent: 'test', credentialId: second.id });
    const onB = (token: string) => {
      const tab = new TestBrowser(portB);
      tab.cookies(a.portalHost).set('gatehouse_session', token);
      return () => tab.fetch(`http://${a.portalHost}:${portB}/account`);
    };
    const [keySessionOnB, otherSessionOnB] = [onB(openedByKey), onB(other.token)];
    expect((await keySessionOnB()).status).toBe(200); // cached on B now
    expect((await otherSessionOnB()).status).toBe(200);
    const removed = await a.gatehouse.core.identity.removeKey(user.id, key.id, { byAdmin: true, actor: 'test' });
    expect(removed.sessionsRevoked).toBe(1);
    const delay = await pollUntil(async () => (await keySessionOnB()).status === 303, 5000);
    process.stdout.write(`[measured] key removal ended its session on the other instance after ${delay.toFixed(1)} ms\n`);
    expect((await otherSessionOnB()).status).toBe(200);
    const [event] = await a.gatehouse.core.audit.list({ type: 'key.removed' });
    expect(event).toMatchObject({ outcome: 'success', userId: user.id, detail: { sessionsRevoked: 1 } });
  });

  it('an IP blocked through one instance is refused by the other', async () => {
    const onB = new TestBrowser(portB);
    const wikiOnB = () => onB.fetch(`http://wiki.acme.localhost:${portB}/`);
    expect((await wikiOnB()).status).toBe(302); // to the portal: not blocked
    await a.gatehouse.access.ipBlocks.block('127.0.0.0/8', { reason: 'multi-instance test', actor: 'test' });
    try {
      const delay = await pollUntil(async () => (await wikiOnB()).status === 403, 5000);
      process.stdout.write(`[measured] IP block seen by the other instance after ${delay.toFixed(1)} ms\n`);
      expect((await wikiOnB()).body).toContain('network address is blocked');
    } finally {
      await a.gatehouse.access.ipBlocks.unblock('127.0.0.0/8', 'test');
    }
  });
});
