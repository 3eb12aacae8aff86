/**
 * Hostile stored data against the console (the attacker's view, written before the tests):
 * - An outsider controls text the console later shows an admin: a browser's User-Agent (sessions),
 *   names its DNS queries ask for (query log; IDN, right-to-left overrides, 63-byte labels, markup),
 *   a reported lure and its sender (reports, via the portal, SMTP or the webhook), details written to
 *   the audit log (paths, reasons), an incident title typed from a report. Each is a stored XSS
 *   attempt: markup that closes a <pre>/<script>, quotes that break out of an attribute, and
 *   `javascript:` URLs that would run if any href were built from the data.
 * - A hostile admin form (or a compromised admin's script) sends NUL and other control bytes in a
 *   field: PostgreSQL refuses NUL in text, so a field that reaches it unchecked is a 500 (and a
 *   step half done) instead of a clear 400.
 * Every page must render the text escaped, build no link from it, and answer bad bytes with a 4xx.
 * Runs on SQLite and, when it answers, PostgreSQL (the NUL byte is its rule).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';
import { action, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

const YAML = 'dns:\n  protect:\n    brands: [acme]\n  age:\n    enabled: false\nreports:\n  allow_anonymous: true\n  threshold_reporters: 5\n  escalate_young_lookalike: false\n';
const engines = [
  { name: 'SQLite file', available: true, url: async () => undefined },
  { name: 'PostgreSQL', available: await havePostgres(), url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_attacks_stored') },
];

/** Markup that would run, or break out of an attribute, if any of it reached the page unescaped. */
const XSS = `</pre></script><script>alert(1)</script><img src=x onerror=alert(2)>"' onmouseover="alert(3)`;

function expectInert(path: string, body: string): void {
  expect({ path, script: body.includes('<script>alert') }).toEqual({ path, script: false });
  expect({ path, img: /<img[^>]*onerror/i.test(body) }).toEqual({ path, img: false });
  expect({ path, attribute: /"\s*onmouseover=/i.test(body) }).toEqual({ path, attribute: false });
  // No link, form target or source is ever built from stored data: none may be a script URL.
  expect({ path, scriptUrl: /(?:href|src|action)\s*=\s*["']?\s*(?:javascript:|vbscript:|data:(?!,["']))/i.test(body) }).toEqual({ path, scriptUrl: false });
}

for (const engine of engines) {
  describe.runIf(engine.available)(`console attacks: hostile stored data (${engine.name})`, { timeout: 120_000 }, () => {
    let kit: ConsoleKit;
    let staffId: string;
    let incidentId: string;
    let groupId: string;
    beforeAll(async () => {
      const databaseUrl = await engine.url();
      kit = await startConsoleKit({ extraYaml: YAML, ...(databaseUrl ? { databaseUrl } : {}) });
      const core = kit.fx.gatehouse.core;
      staffId = (await core.identity.users.require('staff@acme.test')).id;
      // A browser's User-Agent is whatever the client sends.
      await core.store.db.updateTable('sessions').set({ user_agent: `Mozilla/5.0 ${XSS}` }).where('user_id', '=', staffId).execute();
      const at = kit.clock.now() - 60_000;
      const names = [`${'a'.repeat(63)}.${XSS}.evil.test`, 'xn--80ak6aa92e.com', 'pаypal.com', 'login\u202egnp.evil.test', 'javascript:alert(1)'];
      await core.store.db
        .insertInto('dns_queries')
        .values(names.map((name, i) => ({ at: at + i, client: '10.0.0.9', user_id: staffId, protocol: 'udp', name, type: 'A', verdict: 'block', reason: XSS, latency_ms: 1 })))
        .execute();
      await core.audit.record({ type: 'user.changed', outcome: 'info', actor: `attacker ${XSS}`, ip: '10.0.0.9', detail: { path: `/${XSS}`, url: 'javascript:alert(1)', note: '</script><script>alert(1)</script>' } });
      const report = await kit.fx.gatehouse.reports.reports.submit({
        source: 'webhook',
        claimedSender: `"${XSS}"@evil.test`,
        body: `From: ${XSS}\nPlease check hxxps://pay.acme-payroll[.]com/"><script>alert(1)</script> and javascript:alert(1) and <a href="javascript:alert(1)">here</a>`,
      });
      groupId = report.groupId!;
      const declared = await kit.fx.gatehouse.incidents.declare({ title: `Lure ${XSS.replace(/[\r\n]/g, ' ')}`.slice(0, 200), domains: [] }, { actor: 'test' });
      if (!('incident' in declared)) throw new Error('not declared');
      incidentId = declared.incident.id;
    });
    afterAll(async () => {
      await kit?.close();
    });

    it('renders every outsider-controlled field escaped, with no link built from it', async () => {
      expect(groupId).toBeTruthy();
      const paths = [
        '/admin',
        '/admin/sessions',
        `/admin/users/${encodeURIComponent(staffId)}`,
        '/admin/dns',
        `/admin/dns?client=10.0.0.9`,
        '/admin/audit',
        '/admin/reports',
        `/admin/reports/${encodeURIComponent(groupId)}`,
        '/admin/incidents',
        `/admin/incidents/${incidentId}`,
        '/admin/apps',
      ];
      for (const path of paths) {
        const reply = await page(kit, kit.admin, path);
        expect({ path, status: reply.status }).toEqual({ path, status: 200 });
        expectInert(path, reply.body);
      }
      // The escaped text is there (the data is shown, not dropped).
      expect((await page(kit, kit.admin, `/admin/reports/${encodeURIComponent(groupId)}`)).body).toContain('&lt;script&gt;alert(1)');
      expect((await page(kit, kit.admin, '/admin/audit')).body).toContain('&lt;/script&gt;');
    });

    it('answers NUL and control bytes in a form field with a 4xx, never a 500, and writes nothing', async () => {
      const before = (await kit.fx.gatehouse.core.audit.list({ type: 'admin.console_action', limit: 50 })).length;
      // Every field goes through formField: one refusal, naming the field, before the handler runs.
      const cases: [string, Record<string, string>][] = [
        [`/admin/incidents/${incidentId}/close`, { note: 'closed\u0000by mistake' }],
        ['/admin/reports/dismiss', { group: groupId, note: 'harmless\u0000' }],
        ['/admin/dns/block-domain', { names: 'evil.test', reason: 'lure\u0000' }],
        ['/admin/dns/block-domain', { names: 'evil.test', reason: 'lure\u001b[31m' }],
        ['/admin/dns/block-ip', { cidr: '203.0.113.7', reason: 'relay\u0000' }],
        ['/admin/users/invite', { email: 'new\u0000@acme.test', groups: 'staff' }],
        ['/admin/users/invite', { email: 'new2@acme.test', name: 'New\u0000User', groups: 'staff' }],
        ['/admin/incidents/declare', { title: 'x\u0000y', domains: 'evil.test' }],
        [`/admin/incidents/${incidentId}/hunt`, { hunt: 'from-ip', values: '10.0.0.9\u0000' }],
      ];
      const seen: { path: string; status: number; code: unknown }[] = [];
      for (const [path, fields] of cases) {
        const reply = await action(kit, kit.admin, path, fields);
        seen.push({ path, status: reply.status, code: reply.json.error });
      }
      expect(seen).toEqual(cases.map(([path]) => ({ path, status: 400, code: 'invalid_input' })));
      expect((await kit.fx.gatehouse.core.audit.list({ type: 'admin.console_action', limit: 50 })).length).toBe(before);
      expect((await kit.fx.gatehouse.incidents.show(incidentId)).status).toBe('open');
    });
  });
}
