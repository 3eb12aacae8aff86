/**
 * Three reporters on instance A (in-process); the lure is refused by instance B's DNS gateway (a real
 * separate process on the same PostgreSQL, asked with real `dig`): "blocked on every instance".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digAnswers, digStatus } from '../../src/dns/test-support/dig.js';
import { startUpstreamFixture, type UpstreamFixture } from '../../src/dns/test-support/upstream-fixture.js';
import { POSTGRES_TEST_URL, haveCommand, havePostgres } from '../peers.js';
import { fixtureConfigYaml, freePort, freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { spawnGatehouse, type GatehouseProcess } from '../support/serve-process.js';

const ready = (await havePostgres()) && haveCommand('dig');
const LURE = 'acme-payroll.com';

async function pollUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.runIf(ready)('reports block on every instance', { timeout: 60_000 }, () => {
  let a: GatehouseFixture;
  let b: GatehouseProcess;
  let upstream: UpstreamFixture;
  let dnsPortB: number;

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ records: { [`pay.${LURE}`]: [{ type: 'A', data: '203.0.113.80', ttl: 300 }] } });
    const databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_reports_multi');
    const shared = 'dns:\n  protect: { brands: [acme], domains: [acme.localhost] }\n';
    a = await startFixture({ databaseUrl, extraYaml: `${shared}  age: { enabled: false }\n` });
    dnsPortB = await freePort();
    const configB = join(a.dir, 'instance-b.yaml');
    writeFileSync(
      configB,
      fixtureConfigYaml({
        dir: a.dir,
        port: await freePort(),
        databaseUrl,
        // No brand on B: its gateway resolves the lure until the report's block reaches it.
        extraYaml: `dns:\n  enabled: true\n  listen: { address: 127.0.0.1, port: ${dnsPortB} }\n  upstreams: ["127.0.0.1:${upstream.port}"]\n  age: { enabled: false }\n`,
      }),
    );
    b = await spawnGatehouse(configB);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await upstream?.close();
  });

  it('three reporters on A; B refuses the lure', async () => {
    const reports = a.gatehouse.reports.reports;
    expect(digAnswers(await dig(dnsPortB, [`pay.${LURE}`, 'A'])).map((r) => r.data)).toEqual(['203.0.113.80']);
    for (const who of ['ann@acme.localhost', 'bob@acme.localhost', 'cy@acme.localhost']) {
      await a.gatehouse.core.identity.users.add({ email: who });
      await reports.submit({ source: 'portal', reporter: who, body: `SMS: hxxps://pay.${LURE.replace('.', '[.]')}/x` });
    }
    expect((await reports.groups())[0]).toMatchObject({ domain: LURE, status: 'escalated' });
    await pollUntil('the block on B', async () => digStatus(await dig(dnsPortB, [`pay.${LURE}`, 'A'])) !== 'NOERROR' || digAnswers(await dig(dnsPortB, [`pay.${LURE}`, 'A'])).length === 0);
    expect(digAnswers(await dig(dnsPortB, [`pay.${LURE}`, 'A'])).map((r) => r.data)).not.toContain('203.0.113.80');
  });
});
