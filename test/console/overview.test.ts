/**
 * The console's overview page and its JSON: an admin signed in with a key sees the counts (sign-ins
 * by method, denials, DNS, lookalikes, alerts, users without a key, open incidents) in words, tables
 * and a data attribute for the charts; staff, a password+TOTP administrator and a visitor get the
 * refusal codes and no data; a bad range is a 400 naming the allowed ones; hostile codes are escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overviewNaive } from '../../src/console/overview-naive.js';
import { rollUpOverview } from '../../src/console/overview-rollups.js';
import { createIncidentResponse } from '../../src/incident/index.js';
import { TestBrowser } from '../support/http-client.js';
import { page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

const MIN = 60_000;

/** The admin-group and key-change watchers raise alerts at a moment of their own: an hour apart here, so counts are exact. */
const QUIET_WATCHERS = 'incident:\n  admin_watch_interval_ms: 3600000\n';

describe('admin console overview', () => {
  let kit: ConsoleKit;
  let incidents: ReturnType<typeof createIncidentResponse>;
  beforeAll(async () => {
    kit = await startConsoleKit({ extraYaml: QUIET_WATCHERS });
    const { core } = kit.fx.gatehouse;
    // Events over the next few hours, in the order time passes (the rollup timer is already running).
    const start = kit.clock.now();
    const HOUR = 3_600_000;
    const record = async (at: number, event: Parameters<typeof core.audit.record>[0]) => {
      kit.clock.set(at);
      await core.audit.record(event);
    };
    const dns = (at: number, verdict: string, reason: string) =>
      core.store.db.insertInto('dns_queries').values({ at, client: '192.0.2.9', user_id: null, protocol: 'udp', name: 'acme-okta.com', type: 'A', verdict, reason, latency_ms: 1 }).execute();
    await record(start + HOUR, { type: 'sign_in', outcome: 'success', userId: 'u-hw', detail: { method: 'webauthn', class: 'hwk' } });
    await dns(start + HOUR, 'allow', '');
    await record(start + 2 * HOUR, { type: 'sign_in', outcome: 'failure', code: 'legacy_downgrade_refused', detail: { method: 'password' } });
    await record(start + 150 * MIN, { type: 'access.denied', outcome: 'failure', code: '<script>alert(1)</script>', detail: { app: 'wiki' } });
    await record(start + 160 * MIN, { type: 'incident.alert', outcome: 'info', code: 'lookalike_query', detail: { domain: 'acme-okta.com' } });
    await dns(start + 170 * MIN, 'block', 'classify:lookalike');
    const now = start + 4 * HOUR;
    await dns(now - MIN, 'block', 'blocklist:malware');
    kit.clock.set(now);
    incidents = createIncidentResponse({ core, ipBlocks: kit.fx.gatehouse.access.ipBlocks, serviceTokens: kit.fx.gatehouse.serviceTokens });
    // A one-hour hunt window: the password+TOTP administrator signed in hours ago and stays uncontained.
    await incidents.declare({ title: 'relay kit', ips: ['203.0.113.77'], since: '1h' }, { actor: 'test' });
    await rollUpOverview(core.store.db, now);
  });
  afterAll(async () => {
    await incidents?.dispose();
    await kit?.close();
  });

  const json = async (browser: TestBrowser, query = '') => {
    const reply = await page(kit, browser, `/admin/overview.json${query}`);
    return { status: reply.status, body: JSON.parse(reply.body) as Record<string, unknown>, reply };
  };

  it('shows an admin every chart with its counts in words and a table, and the headline counts', async () => {
    const reply = await page(kit, kit.admin, '/admin?range=24h');
    expect(reply.status).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    for (const heading of ['Sign-ins by method', 'Denials by reason', 'DNS queries and blocks', 'Lookalike hits', 'Alerts']) expect(reply.body).toContain(`>${heading}</h2>`);
    expect(reply.body).toMatch(/sign-ins? in the last 24 hours: [^<]*Security key 1/);
    expect(reply.body).toContain('3 DNS queries in the last 24 hours: Answered 1, Blocked 2.');
    expect(reply.body).toContain('1 lookalike hit in the last 24 hours: Blocked 1.');
    expect(reply.body).toContain('1 alert in the last 24 hours: lookalike_query 1.');
    expect(reply.body).toContain('sign_in:legacy_downgrade_refused 1');
    // Users without a key: the password+TOTP administrator; the link goes to the users page's filter.
    expect(reply.body).toMatch(/href="\/admin\/users\?filter=password-only"><div class="value">1<\/div>/);
    expect(reply.body).toMatch(/href="\/admin\/incidents"><div class="value">1<\/div><div class="label">open incident</);
    expect(reply.body).toContain('data-overview="{&quot;buckets&quot;:');
    expect(reply.body).toContain('<script src="/admin/assets/uPlot.iife.min.js"></script>');
    expect(reply.body).toContain('<script src="/admin/assets/overview.js"></script>');
    expect(reply.body).toContain('<a href="/admin?range=24h" aria-current="true">24h</a>');
  });

  it('escapes a hostile code everywhere it appears (summary, table, chart data)', async () => {
    const reply = await page(kit, kit.admin, '/admin?range=24h');
    expect(reply.body).toContain('access:&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(reply.body).not.toContain('<script>alert');
    expect(reply.body).not.toContain('</script>alert');
  });

  it('answers the same series as the naive query over raw rows, for every range', async () => {
    for (const range of ['1h', '24h', '7d', '30d'] as const) {
      const { status, body } = await json(kit.admin, `?range=${range}`);
      expect(status).toBe(200);
      const naive = await overviewNaive(kit.fx.gatehouse.core.store.db, range, kit.clock.now());
      expect(body.buckets).toEqual(naive.buckets);
      expect(body.series).toEqual(naive.series);
    }
  });

  it('counts a user invited without a key at once', async () => {
    const before = (await json(kit.admin)).body.usersWithoutKey as number;
    await kit.fx.gatehouse.core.identity.invite({ email: 'newcomer@acme.test', groups: [], actor: 'test' });
    expect((await json(kit.admin)).body.usersWithoutKey).toBe(before + 1);
  });

  it('refuses a bad range with a 400 naming the allowed values, as JSON and as a page', async () => {
    const bad = await json(kit.admin, '?range=90d');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_range');
    expect(bad.body.message).toBe('range must be one of 1h, 24h, 7d, 30d.');
    const pageReply = await page(kit, kit.admin, '/admin?range=%3Cb%3E');
    expect(pageReply.status).toBe(400);
    expect(pageReply.body).toContain('range must be one of 1h, 24h, 7d, 30d.');
    const twice = await json(kit.admin, '?range=1h&range=24h');
    expect(twice.status).toBe(400);
  });

  it('refuses staff, a password+TOTP administrator and a visitor, with their codes and no data', async () => {
    for (const [browser, status, code] of [
      [kit.staff, 403, 'admin_forbidden'],
      [kit.passwordAdmin, 403, 'admin_phishing_resistant_required'],
      [new TestBrowser(kit.fx.port), 401, 'admin_session_required'],
    ] as const) {
      const answer = await json(browser, '?range=24h');
      expect(answer.body.error).toBe(code);
      expect(answer.status).toBe(status);
      expect(answer.body.error).toBe(code);
      expect(answer.body.series).toBeUndefined();
      expect(answer.reply.headers['cache-control']).toBe('no-store');
    }
    const staffPage = await page(kit, kit.staff, '/admin');
    expect(staffPage.status).toBe(403);
    expect(staffPage.body).toContain('Not available');
    expect(staffPage.body).not.toContain('Sign-ins by method');
    const visitor = await page(kit, new TestBrowser(kit.fx.port), '/admin');
    expect(visitor.status).toBe(303);
  });

  it('answers app.inject (what the bench calls) with the page and the JSON', async () => {
    const cookie = kit.admin.cookies(kit.fx.portalHost);
    const header = [...cookie.entries()].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers = { host: kit.fx.portalHost, cookie: header };
    const pageReply = await kit.fx.gatehouse.inject({ method: 'GET', url: '/admin?range=30d', headers });
    expect(pageReply.statusCode).toBe(200);
    expect(pageReply.body).toContain('Sign-ins by method');
    const jsonReply = await kit.fx.gatehouse.inject({ method: 'GET', url: '/admin/overview.json?range=30d', headers });
    expect(jsonReply.statusCode).toBe(200);
    expect((jsonReply.json() as { buckets: number[] }).buckets).toHaveLength(30);
  });

  it('serves the page script', async () => {
    const reply = await page(kit, kit.admin, '/admin/assets/overview.js');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toContain('text/javascript');
  });
});
