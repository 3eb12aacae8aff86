import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/support/error-code.js';
import { createAuditLog } from '../../audit/index.js';
import { ManualClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { openStore, type Store } from '../../store/index.js';
import { CredentialInventory } from '../inventory/index.js';
import { createServiceTokens, type ServiceTokens } from '../service-tokens/index.js';
import { createCampaigns, inScope, parseCampaignScope, type Campaigns } from './index.js';

const github = { kind: 'api_token', system: 'github', owner: 'Build@acme.test' };
const wiki = { kind: 'api_token', system: 'wiki', owner: 'ops@acme.test' };

describe('campaign scope', () => {
  it('parses token and credential names beside the filters; unknown keys are refused', () => {
    expect(parseCampaignScope('token=ci-deploy,token=nightly,credential=abc,system=github')).toEqual({ token: ['ci-deploy', 'nightly'], credential: ['abc'], system: ['github'] });
    expect(() => parseCampaignScope('tokens=ci-deploy')).toThrow(expect.objectContaining({ code: 'campaign_scope_invalid' }) as Error);
  });

  it('names alone: exactly the names; names and filters: the names and what the filters match; filters alone: as before', () => {
    const names = parseCampaignScope('token=ci-deploy,credential=id-1');
    expect(inScope(names, { ...github, token: 'ci-deploy' })).toBe(true);
    expect(inScope(names, { ...github, credentialId: 'id-1' })).toBe(true);
    expect(inScope(names, { ...github, credentialId: 'id-2' })).toBe(false);
    expect(inScope(names, { ...wiki, token: 'nightly' })).toBe(false);
    const both = parseCampaignScope('token=ci-deploy,system=github');
    expect(inScope(both, { ...wiki, token: 'ci-deploy' })).toBe(true);
    expect(inScope(both, { ...github, credentialId: 'id-9' })).toBe(true);
    expect(inScope(both, { ...wiki, credentialId: 'id-9' })).toBe(false);
    expect(inScope(parseCampaignScope('owner=build@acme.test'), github)).toBe(true);
    expect(inScope(parseCampaignScope(''), wiki)).toBe(true);
  });
});

describe('a campaign over named credentials (SQLite)', () => {
  let dir: string;
  let store: Store;
  let tokens: ServiceTokens;
  let campaigns: Campaigns;
  let inventory: CredentialInventory;
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-campaign-scope-'));
    store = await openStore({ url: `sqlite:${join(dir, 'gatehouse.db')}` });
    const audit = createAuditLog({ db: store.db, clock });
    tokens = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings: { defaultTtlMs: 86_400_000, maxTtlMs: 86_400_000 * 30, maxOverlapMs: 3_600_000, flushMs: 60_000, maxPending: 10 } });
    inventory = new CredentialInventory(store, clock, cryptoRandom, audit);
    campaigns = createCampaigns({ store, clock, random: cryptoRandom, audit, tokens, rotators: new Map() });
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('snapshots exactly the named token (even revoked) and inventory id (even retired); refuses a name that matches nothing', async () => {
    for (const name of ['leaked', 'other']) await tokens.create({ name, owner: 'build@acme.test', apps: ['deploy'], actor: 'admin@acme.test' });
    await tokens.revoke('leaked', { actor: 'admin@acme.test', reason: 'leak' });
    const item = await inventory.add({ name: 'gh-key', kind: 'api_token', system: 'github', owner: 'build@acme.test', scope: 'repo', locator: { account: 'gh' } }, 'admin@acme.test');
    await inventory.add({ name: 'gh-other', kind: 'api_token', system: 'github', owner: 'build@acme.test', scope: 'repo', locator: { account: 'gh2' } }, 'admin@acme.test');
    await inventory.retire('gh-key', 'admin@acme.test', 'no longer used');
    const started = await campaigns.start({ reason: 'incident x', scope: { token: ['leaked'], credential: [item.id] }, emergency: true, actor: 'admin@acme.test' });
    expect((await campaigns.items(started.campaign.id)).map((i) => i.name).sort()).toEqual(['gh-key', 'leaked']);
    expect(await codeOf(campaigns.start({ reason: 'typo', scope: { token: ['leaked', 'lekaed'] }, emergency: true, actor: 'admin@acme.test' }))).toBe('campaign_scope_invalid');
    expect(await codeOf(campaigns.start({ reason: 'typo', scope: { credential: ['no-such-id'] }, emergency: true, actor: 'admin@acme.test' }))).toBe('campaign_scope_invalid');
  });
});
