/**
 * The console's incident pages: the list, the declare form whose first submission is the dry-run plan
 * and whose confirmation declares, an incident's live timeline over server-sent events (on the
 * instance that wrote it and on another one sharing the database), hunts with their evidence, the
 * STIX download and closing (with or without lifting the blocks). Every action is gated like the
 * rest of the console (admin with a key, recent proof, CSRF) and audited.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { signInThroughPortal } from '../support/portal-sign-in.js';
import { action, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

interface LiveEvent {
  id: string;
  text: string;
  at: number;
}

/** A real EventSource-like client over node:http: events as they arrive, and a wait on a predicate. */
function openStream(port: number, host: string, cookie: string, path: string, extraHeaders: Record<string, string> = {}) {
  const events: LiveEvent[] = [];
  const waiters: { match: (e: LiveEvent) => boolean; resolve: (e: LiveEvent) => void }[] = [];
  let ended!: () => void;
  const end = new Promise<void>((resolve) => (ended = resolve));
  let req!: http.ClientRequest;
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port, path, headers: { host, cookie, accept: 'text/event-stream', ...extraHeaders }, agent: false }, (res) => {
      resolve(res);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const id = block.split('\n').find((l) => l.startsWith('id: '))?.slice(4) ?? '';
          const event = { id, ...(JSON.parse(data.slice(6)) as { text: string; at: number }) };
          events.push(event);
          for (const waiter of waiters.filter((w) => w.match(event))) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      });
      res.on('close', ended);
    });
    req.on('error', reject);
    req.on('close', ended);
    streams.push(req);
  });
  return {
    events,
    response,
    close: () => req.destroy(),
    end,
    waitFor(match: (e: LiveEvent) => boolean): Promise<LiveEvent> {
      const found = events.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
const streams: http.ClientRequest[] = [];

const EXTRA = `dns:
  age:
    enabled: false
`;

describe('admin console: incidents', () => {
  let kit: ConsoleKit;
  let cookie: string;
  let host: string;
  beforeAll(async () => {
    kit = await startConsoleKit({ extraYaml: EXTRA });
    // Named in a declaration (its sessions are revoked): not the staff member the refusals use.
    await kit.fx.gatehouse.core.identity.invite({ email: 'victim@acme.test', groups: [], actor: 'test' });
    host = new URL(kit.fx.portalOrigin).host;
    cookie = [...kit.admin.cookies(kit.fx.portalHost)].map(([k, v]) => `${k}=${v}`).join('; ');
  });
  afterAll(async () => {
    for (const req of streams) req.destroy();
    await kit?.close();
  });

  const incidentIds = async () => (await kit.fx.gatehouse.core.store.db.selectFrom('incidents').select('id').execute()).map((r) => r.id);
  const declared = async (title: string, domains: string[] = []) => {
    const result = await kit.fx.gatehouse.incidents.declare({ title, domains }, { actor: 'test' });
    if (!('incident' in result)) throw new Error('not declared');
    return result.incident.id;
  };

  it('lists incidents and the declare form to an admin; staff get a refusal page', async () => {
    const id = await declared('Listed incident');
    const reply = await page(kit, kit.admin, '/admin/incidents');
    expect(reply.status).toBe(200);
    expect(reply.body).toContain(`href="/admin/incidents/${id}"`);
    expect(reply.body).toContain('action="/admin/incidents/plan"');
    const closedOnly = await page(kit, kit.admin, '/admin/incidents?status=closed');
    expect(closedOnly.body).not.toContain('Listed incident');
    expect((await page(kit, kit.admin, '/admin/incidents?status=maybe')).status).toBe(400);
    const staff = await page(kit, kit.staff, '/admin/incidents');
    expect(staff.status).toBe(403);
    expect(staff.body).not.toContain('Listed incident');
  });

  it('shows the dry-run plan first, declaring nothing, then declares on confirmation', async () => {
    const before = await incidentIds();
    const fields = { title: '<script>alert(1)</script> phishing wave', domains: 'acme-sso.test\nacme-sso.test', ips: '198.51.100.7', urls: '', users: 'victim@acme.test', tokens: '', since: '24h' };
    const plan = await action(kit, kit.admin, '/admin/incidents/plan', fields, { json: false });
    expect(plan.status).toBe(200);
    expect(plan.reply.body).toContain('Nothing has been done yet');
    expect(plan.reply.body).toContain('block_domains');
    expect(plan.reply.body).toContain('victim@acme.test');
    expect(plan.reply.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; phishing wave');
    expect(plan.reply.body).not.toContain('<script>alert');
    expect(plan.reply.body).toContain('action="/admin/incidents/declare"');
    expect(await incidentIds()).toEqual(before);
    const json = await action(kit, kit.admin, '/admin/incidents/plan', fields);
    expect((json.json.plan as { dryRun?: boolean }).dryRun).toBe(true);
    const core = kit.fx.gatehouse.core;
    const audited = await core.audit.list({ type: 'admin.console_action', limit: 5 });
    expect(audited.some((e) => (e.detail as { action?: string }).action === 'incident.plan')).toBe(true);

    const confirmed = await action(kit, kit.admin, '/admin/incidents/declare', fields);
    expect(confirmed.status).toBe(200);
    const id = /^\/admin\/incidents\/(inc-[0-9a-f-]{36})$/.exec(String(confirmed.json.redirect))?.[1];
    expect(id).toBeDefined();
    const view = await kit.fx.gatehouse.incidents.show(id!);
    expect(view.indicators.domains).toEqual(['acme-sso.test']);
    expect(view.declaredBy).toBe(`admin:${(await core.identity.users.require('admin@acme.test')).id}`);
    expect((await core.store.db.selectFrom('domain_blocks').select('name').execute()).map((r) => r.name)).toContain('acme-sso.test');
    expect((await core.audit.list({ type: 'admin.console_action', limit: 5 })).some((e) => (e.detail as { incident?: string }).incident === id)).toBe(true);
  });

  it('answers a bad declaration with the capability’s error, declaring nothing', async () => {
    const before = await incidentIds();
    // Every session of everyone: typed, as on the sessions page.
    const plan = await action(kit, kit.admin, '/admin/incidents/plan', { title: 'everyone out', all_sessions: 'on' }, { json: false });
    expect(plan.reply.body).toContain('name="confirm"');
    const untyped = await action(kit, kit.admin, '/admin/incidents/declare', { title: 'everyone out', all_sessions: 'on' });
    expect(untyped.status).toBe(400);
    expect(untyped.json.error).toBe('confirmation_mismatch');
    const mistyped = await action(kit, kit.admin, '/admin/incidents/declare', { title: 'everyone out', all_sessions: 'on', confirm: 'yes' });
    expect(mistyped.json.error).toBe('confirmation_mismatch');
    const noTitle = await action(kit, kit.admin, '/admin/incidents/plan', { title: '' });
    expect(noTitle.status).toBe(400);
    const badSince = await action(kit, kit.admin, '/admin/incidents/declare', { title: 'x', since: 'forever' });
    expect(badSince.status).toBe(400);
    const badIp = await action(kit, kit.admin, '/admin/incidents/declare', { title: 'x', ips: 'not-an-ip' });
    expect(badIp.status).toBe(400);
    expect(await incidentIds()).toEqual(before);
  });

  it('shows an incident with its steps, and its STIX bundle as a download', async () => {
    const id = await declared('<img src=x onerror=alert(1)> token leak', ['leak.example.test']);
    const reply = await page(kit, kit.admin, `/admin/incidents/${id}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain(`data-live-source="/admin/incidents/${id}/events"`);
    expect(reply.body).toContain('revoke_sessions');
    expect(reply.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(reply.body).not.toContain('<img src=x');
    const stix = await page(kit, kit.admin, `/admin/incidents/${id}/stix`);
    expect(stix.status).toBe(200);
    expect(stix.headers['content-disposition']).toBe(`attachment; filename="${id}.stix.json"`);
    expect(stix.headers['cache-control']).toBe('no-store');
    const bundle = JSON.parse(stix.body) as { type: string; objects: { type: string; pattern?: string }[] };
    expect(bundle.type).toBe('bundle');
    expect(bundle.objects.some((o) => o.pattern?.includes('leak.example.test'))).toBe(true);
    expect((await page(kit, kit.staff, `/admin/incidents/${id}/stix`)).status).toBe(403);
    expect((await page(kit, kit.admin, '/admin/incidents/not-an-id')).status).toBe(400);
    expect((await page(kit, kit.admin, '/admin/incidents/inc-00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('streams the timeline: the entries written, then a new one as it is written', async () => {
    const id = await declared('Streamed incident', ['stream.example.test']);
    const stream = openStream(kit.fx.port, host, cookie, `/admin/incidents/${id}/events`);
    const res = await stream.response;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await stream.waitFor((e) => e.text.startsWith('declared by test'))).text).toContain('Streamed incident');
    await stream.waitFor((e) => e.text.startsWith('block_domains done'));
    const closed = await action(kit, kit.admin, `/admin/incidents/${id}/close`, { note: 'contained <b>now</b>' });
    expect(closed.json.ok).toBe(true);
    const entry = await stream.waitFor((e) => e.text.startsWith('closed by admin:'));
    expect(entry.text).toContain('contained <b>now</b>');
    // Each entry once.
    expect(new Set(stream.events.map((e) => e.id)).size).toBe(stream.events.length);
    stream.close();
    await stream.end;

    // A reconnecting EventSource names the last entry it has: only the ones after it come again.
    const all = stream.events.map((e) => e.id);
    const resumed = openStream(kit.fx.port, host, cookie, `/admin/incidents/${id}/events`, { 'last-event-id': all[2]! });
    await resumed.waitFor((e) => e.text.startsWith('closed by admin:'));
    expect(resumed.events.map((e) => e.id)).toEqual(all.slice(3));
    resumed.close();
    await resumed.end;
  });

  it('gates the stream like a page and bounds the streams one session holds', async () => {
    const id = await declared('Gated stream');
    const staffCookie = [...kit.staff.cookies(kit.fx.portalHost)].map(([k, v]) => `${k}=${v}`).join('; ');
    const staff = await openStream(kit.fx.port, host, staffCookie, `/admin/incidents/${id}/events`).response;
    expect(staff.statusCode).toBe(403);
    expect(String(staff.headers['content-type'])).not.toContain('event-stream');
    const anonymous = await openStream(kit.fx.port, host, '', `/admin/incidents/${id}/events`).response;
    expect(anonymous.statusCode).toBe(303);
    // console.live_streams_per_session (2): the rest of the bounds are in live-stream-limits.test.ts.
    const open = [0, 1].map(() => openStream(kit.fx.port, host, cookie, `/admin/incidents/${id}/events`));
    for (const s of open) await s.waitFor((e) => e.text.startsWith('declared'));
    const third = await openStream(kit.fx.port, host, cookie, `/admin/incidents/${id}/events`).response;
    expect(third.statusCode).toBe(429);
    // Closing one (a tab) frees its place.
    open[1]!.close();
    await open[1]!.end;
    await expect
      .poll(async () => (await openStream(kit.fx.port, host, cookie, `/admin/incidents/${id}/events`).response).statusCode)
      .toBe(200);
    for (const req of streams) req.destroy();
  });

  it('runs a hunt from the page and shows its evidence', async () => {
    const core = kit.fx.gatehouse.core;
    const staffId = (await core.identity.users.require('staff@acme.test')).id;
    await core.store.db.insertInto('dns_queries').values({ at: kit.clock.now() - 60_000, client: '10.9.9.9', user_id: staffId, protocol: 'doh', name: 'hunted.example.test', type: 'A', verdict: 'allow', reason: '', latency_ms: 1 }).execute();
    const id = await declared('Hunted incident', ['hunted.example.test']);
    const hunt = await action(kit, kit.admin, `/admin/incidents/${id}/hunt`, { hunt: 'resolved-domain', values: '', since: '24h' }, { json: false });
    expect(hunt.status).toBe(200);
    expect(hunt.reply.body).toContain('Hunt: resolved-domain');
    expect(hunt.reply.body).toContain('staff@acme.test');
    expect(hunt.reply.body).toContain('10.9.9.9');
    expect(hunt.reply.body).toContain('dns_queries');
    const unknown = await action(kit, kit.admin, `/admin/incidents/${id}/hunt`, { hunt: 'everything' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toBe('hunt_unknown');
    const audited = await core.audit.list({ type: 'admin.console_action', limit: 5 });
    expect(audited.some((e) => (e.detail as { hunt?: string }).hunt === 'resolved-domain')).toBe(true);
  });

  it('refuses a close without CSRF or with a stale proof, then closes and lifts the blocks', async () => {
    const core = kit.fx.gatehouse.core;
    const id = await declared('Closed with lift', ['lifted.example.test']);
    const noToken = await action(kit, kit.admin, `/admin/incidents/${id}/close`, { lift_blocks: 'on' }, { csrf: null });
    expect(noToken.json.error).toBe('csrf_token');
    kit.clock.advance(11 * 60_000);
    const stale = await action(kit, kit.admin, `/admin/incidents/${id}/close`, { lift_blocks: 'on' });
    expect(stale.json.code).toBe('admin_step_up_required');
    expect((await kit.fx.gatehouse.incidents.show(id)).status).toBe('open');
    expect(await signInThroughPortal(kit.fx, kit.admin, kit.adminKey, { stepUp: true })).toBe(200);
    cookie = [...kit.admin.cookies(kit.fx.portalHost)].map(([k, v]) => `${k}=${v}`).join('; ');
    const done = await action(kit, kit.admin, `/admin/incidents/${id}/close`, { lift_blocks: 'on', note: 'over' });
    expect(done.json.ok).toBe(true);
    expect(String(done.json.message)).toContain('lifted');
    expect((await kit.fx.gatehouse.incidents.show(id)).status).toBe('closed');
    expect((await core.store.db.selectFrom('domain_blocks').select('name').execute()).map((r) => r.name)).not.toContain('lifted.example.test');
    const again = await action(kit, kit.admin, `/admin/incidents/${id}/close`, {});
    expect(again.status).toBe(409);
    expect(again.json.error).toBe('incident_closed');
  });

  it('streams to a second instance what the first one writes, and ends the stream when it closes', async () => {
    let second: GatehouseFixture | undefined;
    try {
      second = await startFixture({ dir: kit.fx.dir, clock: kit.clock, legacy: { password: true, totp: true }, extraYaml: EXTRA });
      const id = await declared('Seen from the other instance');
      const stream = openStream(second.port, `${kit.fx.portalHost}:${second.port}`, cookie, `/admin/incidents/${id}/events`);
      expect((await stream.response).statusCode).toBe(200);
      await stream.waitFor((e) => e.text.startsWith('declared by test'));
      await kit.fx.gatehouse.incidents.close(id, { actor: 'test', note: 'closed on the first instance' });
      expect((await stream.waitFor((e) => e.text.startsWith('closed by test'))).text).toContain('closed on the first instance');
      await second.close();
      second = undefined;
      await stream.end;
    } finally {
      await second?.close();
    }
  });
});

describe.runIf(await havePostgres())('admin console: incident timeline across instances on PostgreSQL', () => {
  let kit: ConsoleKit;
  let second: GatehouseFixture;
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_incidents');
    kit = await startConsoleKit({ extraYaml: EXTRA, databaseUrl });
    second = await startFixture({ databaseUrl, clock: kit.clock, legacy: { password: true, totp: true }, extraYaml: EXTRA });
  });
  afterAll(async () => {
    for (const req of streams) req.destroy();
    await second?.close();
    await kit?.close();
  });

  it('streams on one instance the entries the other writes', async () => {
    const result = await kit.fx.gatehouse.incidents.declare({ title: 'Across PostgreSQL', domains: ['pg.example.test'] }, { actor: 'test' });
    if (!('incident' in result)) throw new Error('not declared');
    const id = result.incident.id;
    const cookie = [...kit.admin.cookies(kit.fx.portalHost)].map(([k, v]) => `${k}=${v}`).join('; ');
    const stream = openStream(second.port, `${kit.fx.portalHost}:${second.port}`, cookie, `/admin/incidents/${id}/events`);
    expect((await stream.response).statusCode).toBe(200);
    await stream.waitFor((e) => e.text.startsWith('block_domains done'));
    const closed = await action(kit, kit.admin, `/admin/incidents/${id}/close`, { note: 'closed on the first instance' });
    expect(closed.json.ok).toBe(true);
    expect((await stream.waitFor((e) => e.text.startsWith('closed by admin:'))).text).toContain('closed on the first instance');
    stream.close();
    await stream.end;
  });
});
