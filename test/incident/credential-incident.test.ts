/**
 * Incidents about leaked credentials: `incident declare --token` revokes the token first, and every
 * instance sharing the database refuses it (`service_token_revoked`) once the feed row is applied;
 * outside credentials go to the rotation campaign the incident starts, whose id the timeline shows;
 * the token-use hunt lists where the token was used in the window and nothing older.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatehouseCore } from '../../src/core.js';
import { CredentialInventory, serviceTokenRefusalEvent, type IssuedServiceToken } from '../../src/credentials/index.js';
import { createIncidentResponse, incidentCredentialsOf, timelineText, type IncidentView } from '../../src/incident/index.js';
import { ManualClock } from '../../src/lib/clock.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { runGatehouse } from '../support/cli.js';
import { codeOf } from '../support/error-code.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';

const HOUR = 3_600_000;

function appsYaml(port: number): string {
  return `apps:
  - name: deploy
    host: deploy.acme.localhost
    upstream: http://127.0.0.1:${port}
    policies:
      - { name: machines, action: allow, include: [{ service_token: [ci-deploy, nightly] }] }
`;
}

let upstream: http.Server;
beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('upstream'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await new Promise((r) => upstream?.close(r));
});

async function countEvents(core: GatehouseCore, type: string, name: string): Promise<number> {
  const rows = await core.store.db.selectFrom('audit_events').select('detail').where('type', '=', type).execute();
  return rows.filter((r) => (JSON.parse(r.detail) as { name?: string }).name === name).length;
}

async function addOutsideCredential(core: GatehouseCore, name: string): Promise<string> {
  const inventory = new CredentialInventory(core.store, core.clock, core.random, core.audit);
  const item = await inventory.add({ name, kind: 'api_token', system: 'github', owner: 'build@acme.test', scope: 'repo', locator: { account: name } }, 'admin@acme.test');
  return item.id;
}

const pgAvailable = await havePostgres();

for (const engine of [...(pgAvailable ? [{ name: 'PostgreSQL', postgres: true }] : []), { name: 'one SQLite file', postgres: false }]) {
  describe(`incident declare --token with two instances (${engine.name})`, () => {
    let a: GatehouseFixture;
    let b: GatehouseFixture;
    let issued: IssuedServiceToken;
    const gatehouse = (args: string[]) => runGatehouse(args, { config: a.configPath });
    const present = (fx: GatehouseFixture) =>
      new TestBrowser(fx.port).fetch(`http://deploy.acme.localhost:${fx.port}/`, { headers: { 'Gatehouse-Client-Id': issued.clientId, 'Gatehouse-Client-Secret': issued.secret, 'user-agent': 'deploy-bot/2.0' } });

    beforeAll(async () => {
      const port = (upstream.address() as AddressInfo).port;
      const databaseUrl = engine.postgres ? await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_credential_incident') : undefined;
      a = await startFixture({ extraYaml: appsYaml(port), ...(databaseUrl ? { databaseUrl } : {}) });
      b = await startFixture({ extraYaml: appsYaml(port), ...(databaseUrl ? { databaseUrl } : { dir: a.dir }) });
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    it('revokes the token first; both instances refuse it (service_token_revoked); the campaign is in the timeline', async () => {
      issued = await a.gatehouse.serviceTokens.create({ name: 'ci-deploy', owner: 'build@acme.test', apps: ['deploy'], actor: 'admin@acme.test' });
      const outside = await addOutsideCredential(a.gatehouse.core, 'github-deploy');
      await b.gatehouse.feed.pollNow();
      expect((await present(a)).status).toBe(200);
      expect((await present(b)).status).toBe(200);
      await a.gatehouse.serviceTokens.flushUse();

      // Unknown names are refused before anything is written.
      const unknown = await gatehouse(['incident', 'declare', '--title', 'typo', '--token', 'ci-deplyo']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('[incident_unknown_token]');
      expect(JSON.parse((await gatehouse(['incident', 'list', '--json'])).stdout)).toEqual([]);

      const dry = await gatehouse(['incident', 'declare', '--title', 'CI token leaked', '--token', 'ci-deploy', '--credential', 'github-deploy', '--campaign', '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/revoke_credentials\s+would revoke service token\(s\) ci-deploy on every instance; hand to the campaign outside credential\(s\) github-deploy; start an emergency rotation campaign/);
      await b.gatehouse.feed.pollNow();
      expect((await present(b)).status).toBe(200);

      const declared = await gatehouse(['incident', 'declare', '--title', 'CI token leaked in a build log', '--token', 'ci-deploy', '--credential', 'github-deploy', '--campaign', '--json']);
      expect(declared.code, declared.stderr).toBe(0);
      const view = JSON.parse(declared.stdout) as IncidentView;
      expect(view.timeline[0]).toMatchObject({ step: 'revoke_credentials', status: 'done', result: { revoked: ['ci-deploy'], alreadyRevoked: [] } });
      expect(view.indicators).toMatchObject({ tokens: ['ci-deploy'], credentials: [outside] });
      expect(view.campaign).toMatchObject({ items: 2, follow: `gatehouse campaign status ${view.campaign!.id}` });
      expect(view.timeline[0]!.result!.credentialsNote).toContain('campaign');

      await a.gatehouse.feed.pollNow();
      await b.gatehouse.feed.pollNow();
      for (const fx of [a, b]) {
        const refused = await present(fx);
        expect(refused.status).toBe(403);
        const { requestId } = JSON.parse(refused.body) as { requestId: string };
        // The gateway writes a refusal's audit event off the request path: wait for it to land.
        await vi.waitFor(async () => {
          const events = await fx.gatehouse.core.audit.list({ type: 'service_token.refused' });
          expect(events.find((e) => e.detail.requestId === requestId)).toMatchObject({ code: 'service_token_revoked' });
        }, { timeout: 10_000 });
      }
      const token = await a.gatehouse.serviceTokens.show('ci-deploy');
      expect(token).toMatchObject({ status: 'revoked', statusReason: expect.stringContaining(view.id) as string });

      // The campaign named by the timeline covers exactly the two credentials, and names the incident.
      const status = JSON.parse((await gatehouse(['campaign', 'status', view.campaign!.id, '--json'])).stdout) as { reason: string; total: number };
      expect(status).toMatchObject({ total: 2, reason: `incident ${view.id}: CI token leaked in a build log` });
      const shown = await gatehouse(['incident', 'show', view.id]);
      expect(shown.stdout).toContain(`gatehouse campaign status ${view.campaign!.id}`);
      expect(shown.stdout).toContain('tokens    ci-deploy');

      // The hunt through the CLI: the network and app of the use, the last use, and the two refusals.
      const hunt = JSON.parse((await gatehouse(['hunt', 'token-use', 'ci-deploy', '--since', '1h', '--json'])).stdout) as { tokens: { networks: { value: string }[]; apps: { value: string }[]; refusals: number; lastUse: { userAgent: string } }[]; evidence: { source: string }[] };
      expect(hunt.tokens[0]).toMatchObject({ networks: [{ value: '127.0.0.0/24' }], apps: [{ value: 'deploy' }], refusals: 2, lastUse: { userAgent: 'deploy-bot/2.0' } });
      expect(new Set(hunt.evidence.map((e) => e.source))).toEqual(new Set(['service_token_sightings', 'service_tokens', 'audit']));
      const text = await gatehouse(['hunt', 'token-use', 'ci-deploy']);
      expect(text.stdout).toContain('network    127.0.0.0/24');
    });
  });
}

describe('credential incidents in process (SQLite)', () => {
  let fx: GatehouseFixture;
  const clock = new ManualClock(Date.UTC(2026, 11, 7, 10, 0, 0));
  beforeAll(async () => {
    fx = await startFixture({ clock, extraYaml: appsYaml((upstream.address() as AddressInfo).port) });
  });
  afterAll(async () => {
    await fx?.close();
  });
  const incidentsWith = (options: Partial<Parameters<typeof createIncidentResponse>[0]> = {}) => createIncidentResponse({ core: fx.gatehouse.core, ipBlocks: fx.gatehouse.access.ipBlocks, serviceTokens: fx.gatehouse.serviceTokens, ...options });
  const create = (name: string) => fx.gatehouse.serviceTokens.create({ name, owner: 'build@acme.test', apps: ['deploy'], actor: 'admin@acme.test' });

  it('refuses an unknown inventory credential and a bare --campaign with a code, writing nothing', async () => {
    const incidents = incidentsWith();
    expect(await codeOf(incidents.declare({ title: 'x', credentials: ['no-such-id'] }, { actor: 'test' }))).toBe('incident_unknown_credential');
    expect(await codeOf(incidents.declare({ title: 'x', tokens: ['nobody'] }, { actor: 'test' }))).toBe('incident_unknown_token');
    expect(await codeOf(incidents.declare({ title: 'x', campaign: true }, { actor: 'test' }))).toBe('incident_invalid_campaign');
    expect(await codeOf(incidents.declare({ title: 'x', domains: ['acme-okta.com'], campaignScope: 'system=github' }, { actor: 'test' }))).toBe('incident_invalid_campaign');
    expect(await incidents.list()).toEqual([]);
  });

  it('dry run: says what would be revoked and that a campaign would start; changes nothing', async () => {
    await create('dry-token');
    const outside = await addOutsideCredential(fx.gatehouse.core, 'dry-outside');
    const feedBefore = await fx.gatehouse.core.store.db.selectFrom('change_feed').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const plan = await incidentsWith().declare({ title: 'dry', tokens: ['dry-token'], credentials: [outside], campaign: true }, { actor: 'test', dryRun: true });
    if (!('dryRun' in plan)) throw new Error('expected a plan');
    expect(plan.campaign).toBe(true);
    expect(plan.steps[0]!.step).toBe('revoke_credentials');
    expect(plan.steps[0]!.would).toContain('revoke service token(s) dry-token');
    expect(plan.steps[0]!.would).toContain('hand to the campaign outside credential(s) dry-outside');
    expect(plan.steps[0]!.would).toContain('start an emergency rotation campaign over 2 named credential(s)');
    expect((await fx.gatehouse.serviceTokens.show('dry-token')).status).toBe('active');
    expect(await fx.gatehouse.core.store.db.selectFrom('rotation_campaigns').selectAll().execute()).toEqual([]);
    expect(await incidentsWith().list()).toEqual([]);
    const feedAfter = await fx.gatehouse.core.store.db.selectFrom('change_feed').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    expect(Number(feedAfter?.n)).toBe(Number(feedBefore?.n));
  });

  it('a step that fails midway resumes without revoking anything twice or starting a second campaign', async () => {
    await create('leak-one');
    await create('leak-two');
    const credentials = incidentCredentialsOf(fx.gatehouse.core, fx.gatehouse.serviceTokens);
    let failOnce = true;
    // Fault injection at the dependency: the second revocation fails once (a database blip).
    const flaky = {
      ...credentials,
      tokens: {
        ...credentials.tokens,
        show: credentials.tokens.show,
        sightings: credentials.tokens.sightings,
        revoke: async (name: string, options: { actor: string; reason?: string | undefined }) => {
          if (name === 'leak-two' && failOnce) {
            failOnce = false;
            throw new Error('connection reset');
          }
          return credentials.tokens.revoke(name, options);
        },
      },
    };
    const incidents = incidentsWith({ credentials: flaky });
    const first = await incidents.declare({ title: 'two tokens leaked', tokens: ['leak-one', 'leak-two'], campaign: true }, { actor: 'test' });
    if (!('incident' in first)) throw new Error('expected an incident');
    const step = first.incident.timeline[0]!;
    expect(step).toMatchObject({ step: 'revoke_credentials', status: 'failed', result: { revoked: ['leak-one'] } });
    expect(first.run.state).toBe('incomplete');
    expect(first.incident.campaign).toBeUndefined();
    expect(timelineText(first.incident)).toContain('campaign  not started yet');

    const resumed = await incidents.resume(first.incident.id, { actor: 'test' });
    expect(resumed.incident.timeline[0]).toMatchObject({ status: 'done', attempts: 2, result: { revoked: ['leak-two'], alreadyRevoked: ['leak-one'] } });
    expect(resumed.incident.campaign?.items).toBe(2);

    // As if the run died after its effects and before recording them: the step runs a third time.
    await fx.gatehouse.core.store.db.updateTable('incident_steps').set({ status: 'failed' }).where('incident_id', '=', first.incident.id).where('name', '=', 'revoke_credentials').execute();
    const again = await incidents.resume(first.incident.id, { actor: 'test' });
    expect(again.incident.timeline[0]).toMatchObject({ status: 'done', attempts: 3, result: { revoked: [], alreadyRevoked: ['leak-one', 'leak-two'] } });
    expect(again.incident.campaign?.id).toBe(resumed.incident.campaign?.id);

    const core = fx.gatehouse.core;
    expect(await countEvents(core, 'service_token.revoked', 'leak-one')).toBe(1);
    expect(await countEvents(core, 'service_token.revoked', 'leak-two')).toBe(1);
    const campaigns = await core.store.db.selectFrom('rotation_campaigns').selectAll().where('reason', 'like', `incident ${first.incident.id}%`).execute();
    expect(campaigns).toHaveLength(1);
    // Revoked before the campaign started, named by the incident: in the campaign all the same.
    const items = await core.store.db.selectFrom('campaign_items').select('name').where('campaign_id', '=', campaigns[0]!.id).execute();
    expect(items.map((i) => i.name).sort()).toEqual(['leak-one', 'leak-two']);
  });

  it('an incident declared before revoke_credentials existed still shows, and gets the step when resumed', async () => {
    const incidents = incidentsWith();
    const declared = await incidents.declare({ title: 'older incident', domains: ['acme-0kta.com'] }, { actor: 'test' });
    if (!('incident' in declared)) throw new Error('expected an incident');
    const { id } = declared.incident;
    const db = fx.gatehouse.core.store.db;
    // What such an incident looks like in the database: no step row, no tokens or credentials indicators.
    await db.deleteFrom('incident_steps').where('incident_id', '=', id).where('name', '=', 'revoke_credentials').execute();
    await db.updateTable('incidents').set({ indicators: JSON.stringify({ domains: ['acme-0kta.com'], ips: [], urls: [], users: [] }) }).where('id', '=', id).execute();
    const shown = await incidents.show(id);
    expect(shown.timeline.map((t) => t.step)).not.toContain('revoke_credentials');
    expect(shown.indicators).toMatchObject({ tokens: [], credentials: [] });
    expect(timelineText(shown)).toContain('older incident');
    const resumed = await incidents.resume(id, { actor: 'test' });
    expect(resumed.run.ran).toEqual(['revoke_credentials']);
    expect(resumed.incident.timeline[0]).toMatchObject({ step: 'revoke_credentials', status: 'done' });
    expect(resumed.incident.timeline.map((t) => t.step)[1]).toBe('block_domains');
  });

  it('token-use hunt: networks and apps seen in the window, the last use and refusals; nothing older; unknown token has a code', async () => {
    const issued = await create('hunted');
    const tokens = fx.gatehouse.serviceTokens;
    const refuse = async () => {
      const verdict = tokens.verify({ clientId: issued.clientId, secret: `${issued.secret.slice(0, -4)}AAAA`, app: 'deploy', now: clock.now() });
      if (verdict.ok) throw new Error('expected a refusal');
      await fx.gatehouse.core.audit.record(serviceTokenRefusalEvent(verdict, { clientId: issued.clientId, app: 'deploy', clientAddress: '192.0.2.50' }));
    };
    const old = clock.now();
    tokens.recordUse({ clientId: issued.clientId, at: old, clientAddress: '198.51.100.7', app: 'deploy', userAgent: 'old-bot' });
    await tokens.flushUse();
    await refuse();
    clock.advance(72 * HOUR);
    tokens.recordUse({ clientId: issued.clientId, at: clock.now() - HOUR, clientAddress: '203.0.113.9', app: 'deploy', userAgent: 'attacker/1' });
    await tokens.flushUse();
    await refuse();

    const result = await incidentsWith().hunt('token-use', { tokens: ['hunted'], since: '24h' });
    expect(result.tokens).toEqual([
      {
        name: 'hunted',
        owner: 'build@acme.test',
        status: 'active',
        lastUse: { at: clock.now() - HOUR, ip: '203.0.113.9', app: 'deploy', userAgent: 'attacker/1' },
        networks: [{ value: '203.0.113.0/24', firstSeenAt: clock.now() - HOUR, lastSeenAt: clock.now() - HOUR }],
        apps: [{ value: 'deploy', firstSeenAt: old, lastSeenAt: clock.now() - HOUR }],
        refusals: 1,
      },
    ]);
    expect(JSON.stringify(result.evidence)).not.toContain('198.51.100');
    expect(result.evidence.filter((e) => e.source === 'audit')).toMatchObject([{ code: 'service_token_bad_secret', ip: '192.0.2.50' }]);
    expect(JSON.stringify(result)).not.toContain(issued.secret);
    // A window reaching back to the first use includes it.
    const wide = await incidentsWith().hunt('token-use', { tokens: ['hunted'], since: '7d' });
    expect(wide.tokens![0]!.networks.map((n) => n.value).sort()).toEqual(['198.51.100.0/24', '203.0.113.0/24']);
    expect(wide.tokens![0]!.refusals).toBe(2);
    expect(await codeOf(incidentsWith().hunt('token-use', { tokens: ['no-such-token'] }))).toBe('hunt_unknown_token');
    expect(await codeOf(incidentsWith().hunt('token-use', {}))).toBe('hunt_invalid_params');
  });
});
