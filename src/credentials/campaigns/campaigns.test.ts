import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../../test/peers.js';
import { freshPostgresDatabase } from '../../../test/support/gatehouse-fixture.js';
import { createAuditLog, type AuditLog } from '../../audit/index.js';
import { isGatehouseError } from '../../lib/errors.js';
import { ManualClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { openStore, type Store } from '../../store/index.js';
import { CredentialInventory, parseInventoryCsv } from '../inventory/index.js';
import type { Rotator } from '../rotation/index.js';
import { createServiceTokens, type ServiceTokens, type ServiceTokenSettings } from '../service-tokens/index.js';
import { campaignReportHtml, createCampaigns, parseCampaignScope, type CampaignHooks, type Campaigns } from './index.js';

/**
 * Campaigns against real databases and a real peer: a small HTTP service that accepts one bearer
 * token per account and refuses every other. The test rotator changes the token through the peer's
 * admin endpoint and then presents the OLD token to it; the peer's 401 is the evidence.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
const settings: ServiceTokenSettings = { defaultTtlMs: 90 * DAY, maxTtlMs: 365 * DAY, maxOverlapMs: 168 * HOUR, flushMs: 60_000, maxPending: 100 };
const ADMIN_KEY = randomBytes(16).toString('hex');

/** The real system: accounts with one bearer token each; `GET /whoami` answers 200 or 401. */
async function startPeer() {
  const tokens = new Map<string, string>();
  const rotations = new Map<string, number>();
  const revocations = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://peer');
      const account = url.searchParams.get('account') ?? '';
      if (url.pathname === '/whoami') {
        const presented = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        const ok = tokens.has(account) && tokens.get(account) === presented;
        res.writeHead(ok ? 200 : 401).end(ok ? account : 'invalid token');
        return;
      }
      if (req.headers['x-admin-key'] !== ADMIN_KEY) return void res.writeHead(403).end();
      if (url.pathname === '/admin/rotate') {
        tokens.set(account, body);
        rotations.set(account, (rotations.get(account) ?? 0) + 1);
        return void res.writeHead(204).end();
      }
      if (url.pathname === '/admin/revoke') {
        tokens.delete(account);
        revocations.set(account, (revocations.get(account) ?? 0) + 1);
        return void res.writeHead(204).end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, tokens, rotations, revocations, close: () => new Promise<void>((done) => server.close(() => done())) };
}
type Peer = Awaited<ReturnType<typeof startPeer>>;

const whoami = async (peer: Peer, account: string, token: string) => (await fetch(`${peer.base}/whoami?account=${account}`, { headers: { authorization: `Bearer ${token}` } })).status;

/** A rotator for the peer, written against the contract like the built-in ones: rotate, then probe the OLD token. */
function peerRotator(peer: Peer): Rotator {
  const admin = (path: string, account: string, body = '') => fetch(`${peer.base}${path}?account=${account}`, { method: 'POST', headers: { 'x-admin-key': ADMIN_KEY }, body });
  // The old secret is read from the sink BEFORE the rotation: afterwards the sink holds the new one.
  const probeOld = async (account: string, old: Buffer | undefined) => {
    if (!old) throw new Error('no previous secret to probe with');
    const status = await whoami(peer, account, old.toString());
    if (status !== 401) throw new Error(`the old token still answers ${status}`);
    return { probe: 'GET /whoami with the old token', answer: `${status} invalid token` };
  };
  return {
    name: 'http-bearer',
    validate: (target) => (target.locator.account ? undefined : 'locator.account is required'),
    async rotate(target, context) {
      const old = await context.previousSecret?.(target);
      const secret = randomBytes(24).toString('hex');
      const res = await admin('/admin/rotate', target.locator.account!, secret);
      if (res.status !== 204) throw new Error(`rotate answered ${res.status}`);
      const deliveredTo = await context.deliverSecret(target, Buffer.from(secret));
      const detail = await probeOld(target.locator.account!, old);
      return { rotatedAt: context.now(), deliveredTo, evidence: { kind: 'old_credential_refused', at: context.now(), detail } };
    },
    async revoke(target, context) {
      const old = await context.previousSecret?.(target);
      const res = await admin('/admin/revoke', target.locator.account!);
      if (res.status !== 204) throw new Error(`revoke answered ${res.status}`);
      const detail = await probeOld(target.locator.account!, old);
      return { rotatedAt: context.now(), deliveredTo: 'none', evidence: { kind: 'revocation_probed', at: context.now(), detail } };
    },
  };
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isGatehouseError(error)) return { code: error.code, message: error.publicMessage };
    throw error;
  }
  throw new Error('expected a refusal');
}

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_campaigns') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`rotation campaigns (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let audit: AuditLog;
    let tokens: ServiceTokens;
    let inventory: CredentialInventory;
    let peer: Peer;
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
    /** The secret sink: what a credential's consumer would read. Also where the probe gets the old secret. */
    const sink = new Map<string, Buffer>();
    const campaignsWith = (hooks?: CampaignHooks): Campaigns =>
      createCampaigns({
        store,
        clock,
        random: cryptoRandom,
        audit,
        tokens,
        rotators: new Map([['http-bearer', peerRotator(peer)]]),
        deliverSecret: async (target, secret) => {
          sink.set(target.itemId, secret);
          return `memory:${target.itemId}`;
        },
        previousSecret: async (target) => sink.get(target.itemId),
        leaseMs: 60_000,
        hooks,
      });
    const seedPeer = async (name: string, account: string) => {
      const secret = randomBytes(24).toString('hex');
      peer.tokens.set(account, secret);
      const item = await inventory.show(name);
      sink.set(item.id, Buffer.from(secret));
      return secret;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-campaigns-'));
      store = await openStore({ url: await engine.url(dir) });
      audit = createAuditLog({ db: store.db, clock });
      tokens = createServiceTokens({ store, clock, random: cryptoRandom, audit, settings });
      await tokens.load();
      inventory = new CredentialInventory(store, clock, cryptoRandom, audit);
      peer = await startPeer();
    });
    afterAll(async () => {
      await peer?.close();
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('rotates tokens and inventory items to evidence; close is refused while an item lacks it; belief is never evidence; two admins close an owner task', async () => {
      const csv = [
        'name,kind,system,owner,scope,rotator,locator,believed_unused,last_used_evidence',
        'svc-wiki,service_account,wiki,wiki-team@acme.test,admin,http-bearer,"{""account"":""wiki""}",false,wiki access log 2023-11-14',
        'svc-ci,api_token,ci,ci-team@acme.test,deploy,http-bearer,"{""account"":""ci""}",true,',
        '<script>alert(1)</script>,other,ticketing,it@acme.test,,,,false,',
        'legacy-ftp,service_account,ftp,ops@acme.test,,,,true,never seen',
      ].join('\n');
      await inventory.importRows(parseInventoryCsv(csv), 'admin@acme.test', 'drill.csv');
      const wikiOld = await seedPeer('svc-wiki', 'wiki');
      const ciOld = await seedPeer('svc-ci', 'ci');
      const deploy = await tokens.create({ name: 'deploy', owner: 'build@acme.test', description: 'CI deploys', tags: [], apps: ['payroll'], actor: 'admin@acme.test' });
      const oldBot = await tokens.create({ name: 'old-bot', owner: 'build@acme.test', description: 'believed unused', tags: [], apps: ['payroll'], actor: 'admin@acme.test' });
      await tokens.markBelievedUnused('old-bot', { believedUnused: true, actor: 'admin@acme.test' });

      const campaigns = campaignsWith();
      const started = await campaigns.start({ reason: 'vendor breach', scope: parseCampaignScope(''), emergency: true, actor: 'admin@acme.test' });
      expect(started.items).toBe(6);
      const progress: number[] = [];
      const run = await campaigns.run(started.campaign.id, { actor: 'admin@acme.test', onProgress: (p) => progress.push(p.done) });
      expect(progress.at(-1)).toBe(4);
      expect(run.ownerTasks.map((t) => t.item).sort()).toEqual(['<script>alert(1)</script>', 'legacy-ftp']);
      expect(run.ownerTasks[0]!.linkToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

      // The peer refuses the old credentials and accepts the delivered ones.
      expect(await whoami(peer, 'wiki', wikiOld)).toBe(401);
      const wikiItem = await inventory.show('svc-wiki');
      expect(await whoami(peer, 'wiki', sink.get(wikiItem.id)!.toString())).toBe(200);
      expect(wikiItem.lastRotatedAt).toBe(clock.now());
      // Believed unused: revoked (not rotated), and the revocation probed.
      expect(peer.rotations.get('ci')).toBeUndefined();
      expect(peer.revocations.get('ci')).toBe(1);
      expect(await whoami(peer, 'ci', ciOld)).toBe(401);
      expect((await inventory.list({ includeRetired: true })).find((i) => i.name === 'svc-ci')?.status).toBe('retired');
      // Service tokens: the old secrets are refused by the verifier.
      expect(tokens.verify({ clientId: deploy.clientId, secret: deploy.secret, app: 'payroll', now: clock.now() })).toMatchObject({ ok: false, code: 'service_token_bad_secret' });
      expect(tokens.verify({ clientId: oldBot.clientId, secret: oldBot.secret, app: 'payroll', now: clock.now() })).toMatchObject({ ok: false });
      const delivered = sink.get(deploy.token.id)!.toString().split('\n');
      expect(tokens.verify({ clientId: delivered[0], secret: delivered[1], app: 'payroll', now: clock.now() })).toMatchObject({ ok: true });

      const items = await campaigns.items(started.campaign.id);
      const byName = new Map(items.map((i) => [i.name, i]));
      expect(byName.get('svc-wiki')).toMatchObject({ state: 'done', endState: 'rotated', evidence: { kind: 'old_credential_refused', detail: { answer: '401 invalid token' } } });
      expect(byName.get('svc-ci')).toMatchObject({ state: 'done', endState: 'revoked', evidence: { kind: 'revocation_probed' } });
      expect(byName.get('deploy')).toMatchObject({ state: 'done', endState: 'rotated', evidence: { kind: 'old_credential_refused', detail: { previousDigestHeld: false } } });
      expect(byName.get('old-bot')).toMatchObject({ state: 'done', endState: 'revoked', evidence: { kind: 'revocation_probed', detail: { answer: 'service_token_revoked' } } });
      expect((await tokens.show('old-bot')).status).toBe('revoked');

      const status = await campaigns.status(started.campaign.id);
      expect(status).toMatchObject({ total: 6, byState: { done: 4, owner_task: 2 }, byEndState: { rotated: 2, revoked: 2 } });

      // Close is refused, naming every item without evidence.
      const refused = await codeOf(campaigns.close(started.campaign.id, 'admin@acme.test'));
      expect(refused.code).toBe('campaign_items_without_evidence');
      expect(refused.message).toContain('legacy-ftp');
      expect(refused.message).toContain('<script>alert(1)</script>');

      // Believed unused: no attestation counts, not even two.
      expect((await codeOf(campaigns.approve(started.campaign.id, byName.get('legacy-ftp')!.key, { approver: 'alice@acme.test', statement: 'nobody uses it' }))).code).toBe('campaign_belief_not_evidence');
      // Items closed by a probe are not attestable.
      expect((await codeOf(campaigns.approve(started.campaign.id, byName.get('svc-wiki')!.key, { approver: 'alice@acme.test', statement: 'rotated' }))).code).toBe('campaign_item_not_attestable');

      // One admin is not enough, the same admin twice is refused, a second admin closes it.
      const script = '<script>alert(1)</script>';
      const scriptKey = byName.get(script)!.key;
      expect((await campaigns.approve(started.campaign.id, scriptKey, { approver: 'alice@acme.test', statement: 'rotated in the ticketing admin UI' })).state).toBe('owner_task');
      expect((await codeOf(campaigns.approve(started.campaign.id, scriptKey, { approver: 'Alice@acme.test', statement: 'again' }))).code).toBe('campaign_attestation_same_admin');
      const closedByTwo = await campaigns.approve(started.campaign.id, scriptKey, { approver: 'bob@acme.test', statement: 'checked: old key answers 401' });
      expect(closedByTwo).toMatchObject({ state: 'done', endState: 'rotated', evidence: { kind: 'attested', detail: { attesters: 'alice@acme.test, bob@acme.test' } } });

      const stillRefused = await codeOf(campaigns.close(started.campaign.id, 'admin@acme.test'));
      expect(stillRefused.code).toBe('campaign_items_without_evidence');
      expect(stillRefused.message).toContain('legacy-ftp');
      expect(stillRefused.message).not.toContain('script');

      // Given a rotator, the believed-unused item is revoked and probed on resume; then close succeeds.
      await inventory.edit('legacy-ftp', { rotator: 'http-bearer', locator: '{"account":"ftp"}' }, 'admin@acme.test');
      const ftpOld = await seedPeer('legacy-ftp', 'ftp');
      await campaigns.run(started.campaign.id, { actor: 'admin@acme.test', retryFailed: true });
      expect(await whoami(peer, 'ftp', ftpOld)).toBe(401);
      expect(peer.rotations.get('ftp')).toBeUndefined();
      const closed = await campaigns.close(started.campaign.id, 'admin@acme.test');
      expect(closed.status).toBe('closed');
      expect((await codeOf(campaigns.run(started.campaign.id, { actor: 'x' }))).code).toBe('campaign_closed');

      // The report escapes names from the CSV; the audit log holds the story.
      const html = campaignReportHtml(await campaigns.report(started.campaign.id));
      expect(html).not.toContain('<script>alert');
      expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
      expect(html).toContain('revocation_probed');
      const events = await store.db.selectFrom('audit_events').select('type').where('type', 'like', 'campaign.%').execute();
      const types = new Set(events.map((e) => e.type));
      for (const type of ['campaign.started', 'campaign.item_closed', 'campaign.owner_task', 'campaign.attested', 'campaign.closed']) expect(types).toContain(type);
    });

    it('after a crash between the rotation and its record, resume rotates again once (as the contract allows) and ends with evidence', async () => {
      await inventory.add({ name: 'svc-crash', kind: 'service_account', system: 'crashsys', owner: 'ops@acme.test', rotator: 'http-bearer', locator: '{"account":"crash"}' }, 'admin@acme.test');
      const original = await seedPeer('svc-crash', 'crash');
      let crashes = 0;
      const crashing = campaignsWith({
        afterRotate: () => {
          if (crashes === 0) {
            crashes += 1;
            throw new Error('simulated crash');
          }
        },
      });
      const started = await crashing.start({ reason: 'crash drill', scope: parseCampaignScope('system=crashsys'), emergency: true, actor: 'admin@acme.test' });
      expect(started.items).toBe(1);
      await expect(crashing.run(started.campaign.id, { actor: 'admin@acme.test' })).rejects.toThrow('simulated crash');
      expect(peer.rotations.get('crash')).toBe(1);
      expect((await crashing.status(started.campaign.id)).byState).toEqual({ rotating: 1 });

      // Another runner while the lease holds: the claim is respected, nothing is rotated.
      const resumed = campaignsWith();
      expect((await resumed.run(started.campaign.id, { actor: 'admin@acme.test' })).processed).toBe(0);
      expect(peer.rotations.get('crash')).toBe(1);
      expect((await codeOf(resumed.close(started.campaign.id, 'admin@acme.test'))).message).toContain('svc-crash (rotating)');

      // The lease has run out: the item is re-run once, and the probe of that run is the evidence.
      clock.advance(61_000);
      expect((await resumed.run(started.campaign.id, { actor: 'admin@acme.test' })).processed).toBe(1);
      expect((await resumed.run(started.campaign.id, { actor: 'admin@acme.test' })).processed).toBe(0);
      expect(peer.rotations.get('crash')).toBe(2);
      expect(await whoami(peer, 'crash', original)).toBe(401);
      const [item] = await resumed.items(started.campaign.id);
      expect(item).toMatchObject({ state: 'done', endState: 'rotated', attempts: 2, evidence: { kind: 'old_credential_refused' } });
      expect((await resumed.close(started.campaign.id, 'admin@acme.test')).status).toBe('closed');
    });

    it('a runner that outlived its lease cannot overwrite the run that took its item over', async () => {
      await inventory.add({ name: 'svc-slow', kind: 'service_account', system: 'slowsys', owner: 'ops@acme.test', rotator: 'http-bearer', locator: '{"account":"slow"}' }, 'admin@acme.test');
      const original = await seedPeer('svc-slow', 'slow');
      let campaignId = '';
      let overtaken = false;
      const slow = campaignsWith({
        afterRotate: async () => {
          if (overtaken) return;
          overtaken = true;
          // This runner stalls past its lease; another takes the item over and finishes it.
          clock.advance(61_000);
          expect((await campaignsWith().run(campaignId, { actor: 'second@acme.test' })).processed).toBe(1);
        },
      });
      const started = await slow.start({ reason: 'slow drill', scope: parseCampaignScope('system=slowsys'), emergency: true, actor: 'admin@acme.test' });
      campaignId = started.campaign.id;
      await slow.run(campaignId, { actor: 'first@acme.test' });
      const [item] = await slow.items(campaignId);
      expect(item).toMatchObject({ state: 'done', attempts: 2, doneBy: 'second@acme.test', evidence: { kind: 'old_credential_refused' } });
      expect(peer.rotations.get('slow')).toBe(2);
      expect(await whoami(peer, 'slow', original)).toBe(401);
      const closedEvents = await store.db.selectFrom('audit_events').select('detail').where('type', '=', 'campaign.item_closed').execute();
      expect(closedEvents.filter((e) => String(e.detail).includes('svc-slow'))).toHaveLength(1);
    });

    it('an owner answers an owner task once through the one-time link, and only the owner; a different admin must still approve', async () => {
      await inventory.add({ name: 'jira-bot', kind: 'api_token', system: 'jira', owner: 'pm@acme.test' }, 'admin@acme.test');
      const campaigns = campaignsWith();
      const started = await campaigns.start({ reason: 'link drill', scope: parseCampaignScope('system=jira'), emergency: true, actor: 'admin@acme.test' });
      const { ownerTasks } = await campaigns.run(started.campaign.id, { actor: 'admin@acme.test' });
      expect(ownerTasks).toEqual([expect.objectContaining({ item: 'jira-bot', owner: 'pm@acme.test' })]);
      const link = ownerTasks[0]!.linkToken!;
      const stored = await store.db.selectFrom('campaign_items').select('task_token_hash').where('campaign_id', '=', started.campaign.id).executeTakeFirstOrThrow();
      expect(stored.task_token_hash).not.toContain(link);
      expect((await codeOf(campaigns.attestAsOwner('x'.repeat(43), { person: 'pm@acme.test', statement: 'done' }))).code).toBe('campaign_task_link_invalid');
      expect((await campaigns.ownerTaskByLink(link, { person: 'pm@acme.test' })).item.name).toBe('jira-bot');
      expect((await codeOf(campaigns.ownerTaskByLink(link, { person: 'mallory@acme.test' }))).code).toBe('campaign_task_not_owner');
      expect((await codeOf(campaigns.attestAsOwner(link, { person: 'mallory@acme.test', statement: 'done' }))).code).toBe('campaign_task_not_owner');
      expect((await campaigns.attestAsOwner(link, { person: 'PM@acme.test', statement: 'regenerated the API token in Jira' })).state).toBe('owner_task');
      expect((await codeOf(campaigns.attestAsOwner(link, { person: 'pm@acme.test', statement: 'again' }))).code).toBe('campaign_task_link_invalid');
      const key = (await campaigns.items(started.campaign.id))[0]!.key;
      expect((await codeOf(campaigns.approve(started.campaign.id, key, { approver: 'PM@acme.test', statement: 'me again' }))).code).toBe('campaign_attestation_same_admin');
      const closed = await campaigns.approve(started.campaign.id, key, { approver: 'sec@acme.test', statement: 'old token answers 401 in Jira' });
      expect(closed).toMatchObject({ state: 'done', evidence: { kind: 'attested', detail: { attesters: 'pm@acme.test, sec@acme.test' } } });
    });

    it('an overlap rotation stays open until the overlap ends', async () => {
      const issued = await tokens.create({ name: 'overlap-bot', owner: 'overlap@acme.test', description: '', tags: [], apps: ['payroll'], actor: 'admin@acme.test' });
      const campaigns = campaignsWith();
      const started = await campaigns.start({ reason: 'routine', scope: parseCampaignScope('owner=overlap@acme.test'), emergency: false, overlapMs: 2 * HOUR, actor: 'admin@acme.test' });
      await campaigns.run(started.campaign.id, { actor: 'admin@acme.test' });
      expect((await campaigns.status(started.campaign.id)).byState).toEqual({ waiting: 1 });
      expect(tokens.verify({ clientId: issued.clientId, secret: issued.secret, app: 'payroll', now: clock.now() })).toMatchObject({ ok: true, usedPreviousSecret: true });
      expect((await codeOf(campaigns.close(started.campaign.id, 'admin@acme.test'))).code).toBe('campaign_items_without_evidence');
      clock.advance(2 * HOUR + 1);
      await campaigns.run(started.campaign.id, { actor: 'admin@acme.test' });
      expect(tokens.verify({ clientId: issued.clientId, secret: issued.secret, app: 'payroll', now: clock.now() })).toMatchObject({ ok: false, code: 'service_token_bad_secret' });
      const [item] = await campaigns.items(started.campaign.id);
      expect(item).toMatchObject({ state: 'done', endState: 'rotated', evidence: { kind: 'overlap_ended' } });
      expect((await campaigns.close(started.campaign.id, 'admin@acme.test')).status).toBe('closed');
    });

    it('refuses a scope with an unknown key and a campaign with nothing in scope', async () => {
      expect(() => parseCampaignScope('team=x')).toThrow(expect.objectContaining({ code: 'campaign_scope_invalid' }) as Error);
      expect((await codeOf(campaignsWith().start({ reason: 'x', scope: parseCampaignScope('system=nowhere'), emergency: true, actor: 'a' }))).code).toBe('campaign_scope_invalid');
    });
  });
}
