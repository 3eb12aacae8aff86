/**
 * Campaign planning benchmark: `campaign start` over 5,000 service tokens and 1,000 inventory items
 * (read both, filter by scope, write 6,000 campaign items in one transaction), then `campaign status`
 * (one grouped query) and the `close` refusal (the items without evidence, named). Baseline in the
 * same run: reading the same 6,000 credentials without writing anything. SQLite file and, when it
 * answers, PostgreSQL at GATEHOUSE_TEST_POSTGRES or postgres://postgres@127.0.0.1:5432/test.
 *
 *   npx tsx bench/campaign-plan-bench.ts [tokens=5000] [items=1000]
 *
 * Writes bench/results/campaign-plan.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createAuditLog } from '../src/audit/index.js';
import { createCampaigns, createServiceTokens, CredentialInventory, parseCampaignScope, type InventoryInput } from '../src/credentials/index.js';
import { systemClock } from '../src/lib/clock.js';
import { cryptoRandom } from '../src/lib/random.js';
import { openStore, type Store } from '../src/store/index.js';

const TOKENS = Number(process.argv[2] ?? 5000);
const ITEMS = Number(process.argv[3] ?? 1000);
const PG = process.env.GATEHOUSE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const here = dirname(fileURLToPath(import.meta.url));

async function freshPg(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG });
  try {
    await client.connect();
    await client.query('DROP DATABASE IF EXISTS gatehouse_campaign_bench WITH (FORCE)');
    await client.query('CREATE DATABASE gatehouse_campaign_bench');
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
  const url = new URL(PG);
  url.pathname = '/gatehouse_campaign_bench';
  return url.toString();
}

async function seed(store: Store): Promise<void> {
  const now = Date.now();
  const rows = Array.from({ length: TOKENS }, (_, i) => ({
    id: cryptoRandom.uuid(),
    client_id: `gh-svc-${randomBytes(16).toString('base64url')}`,
    name: `bench-token-${i}`,
    owner: `team${i % 50}@acme.test`,
    description: '',
    tags: '[]',
    apps: '["payroll"]',
    secret_hash: randomBytes(32).toString('hex'),
    previous_secret_hash: null,
    previous_valid_until: null,
    status: 'active' as const,
    status_reason: null,
    believed_unused: i % 100 === 0 ? 1 : 0,
    version: 1,
    created_at: now,
    created_by: 'bench',
    updated_at: now,
    expires_at: now + 86_400_000,
    rotated_at: null,
    rotated_by: null,
    last_used_at: null,
    last_used_ip: null,
    last_used_app: null,
    last_used_user_agent: null,
  }));
  for (let i = 0; i < rows.length; i += 30) await store.db.insertInto('service_tokens').values(rows.slice(i, i + 30)).execute();
  const inputs: InventoryInput[] = Array.from({ length: ITEMS }, (_, i) => ({
    name: `bench-item-${i}`,
    kind: 'service_account',
    system: `system-${i % 20}`,
    owner: `team${i % 50}@acme.test`,
    scope: '',
    createdAt: undefined,
    lastRotatedAt: undefined,
    lastUsedAt: undefined,
    lastUsedEvidence: undefined,
    rotator: i % 2 === 0 ? 'postgres-role' : undefined,
    locator: { role: `role_${i}` },
    believedUnused: false,
  }));
  await new CredentialInventory(store, systemClock, cryptoRandom, createAuditLog({ db: store.db, clock: systemClock })).importRows(inputs, 'bench', 'bench');
}

async function measure(name: string, url: string) {
  const store = await openStore({ url });
  try {
    await seed(store);
    const audit = createAuditLog({ db: store.db, clock: systemClock });
    const tokens = createServiceTokens({ store, clock: systemClock, random: cryptoRandom, audit, settings: { defaultTtlMs: 1, maxTtlMs: 1, maxOverlapMs: 1, flushMs: 60_000, maxPending: 1 } });
    const campaigns = createCampaigns({ store, clock: systemClock, random: cryptoRandom, audit, tokens, rotators: new Map() });
    const time = async <T>(run: () => Promise<T>): Promise<[number, T]> => {
      const t0 = performance.now();
      const value = await run();
      return [performance.now() - t0, value];
    };
    const [baselineMs] = await time(async () => [await tokens.list(), await store.db.selectFrom('credential_inventory').selectAll().execute()]);
    const [planMs, started] = await time(() => campaigns.start({ reason: 'bench', scope: parseCampaignScope(''), emergency: true, actor: 'bench' }));
    await campaigns.status(started.campaign.id);
    const statusRuns: number[] = [];
    for (let i = 0; i < 20; i += 1) statusRuns.push((await time(() => campaigns.status(started.campaign.id)))[0]);
    statusRuns.sort((a, b) => a - b);
    const [closeMs] = await time(() => campaigns.close(started.campaign.id, 'bench').catch(() => undefined));
    return { engine: name, items: started.items, baselineReadMs: Math.round(baselineMs), planMs: Math.round(planMs), statusMedianMs: Number(statusRuns[10]!.toFixed(2)), closeRefusalMs: Math.round(closeMs) };
  } finally {
    await store.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-campaign-bench-'));
const results = [await measure('sqlite', `sqlite:${join(dir, 'bench.db')}`)];
const pgUrl = await freshPg();
if (pgUrl) results.push(await measure('postgres', pgUrl));
rmSync(dir, { recursive: true, force: true });
console.table(results);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'campaign-plan.json'), `${JSON.stringify({ tokens: TOKENS, items: ITEMS, at: new Date().toISOString(), results }, null, 2)}\n`);
