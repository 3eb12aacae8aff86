/**
 * The console's reports triage queue: groups with reporters and first-seen time, a group's reports
 * with the lure text escaped and its indicators' verdicts, the drafted incident and abuse contacts;
 * escalate (blocks on every instance through the reports capability, refuses a protected domain) and
 * dismiss with a note, each behind CSRF and a fresh key proof, and audited under the admin's name.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { fixtureConfigYaml, freshPostgresDatabase } from '../support/gatehouse-fixture.js';
import { signInThroughPortal } from '../support/portal-sign-in.js';
import { action, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

// Age look-ups off: no test reaches the internet; the lookalike verdict is lexical.
const REPORTS_YAML = 'dns:\n  protect:\n    brands: [acme]\n    domains: [acme.com]\n  age:\n    enabled: false\nreports:\n  allow_anonymous: true\n  threshold_reporters: 5\n  escalate_young_lookalike: false\n  never_block: [example.org]\n';

const engines = [
  { name: 'SQLite file', available: true, url: async () => undefined },
  { name: 'PostgreSQL', available: await havePostgres(), url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_reports') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`admin console: reports triage queue (${engine.name})`, () => {
    let kit: ConsoleKit;
    let lureGroup: string;
    let harmlessGroup: string;
    let protectedGroup: string;
    let databaseUrl: string | undefined;

    beforeAll(async () => {
      databaseUrl = await engine.url();
      kit = await startConsoleKit({ extraYaml: REPORTS_YAML, watch: true, ...(databaseUrl ? { databaseUrl } : {}) });
      const reports = kit.fx.gatehouse.reports.reports;
      for (const email of ['a@acme.test', 'b@acme.test']) await kit.fx.gatehouse.core.identity.users.add({ email });
      const lure = 'Your payroll is on hold: hxxps://pay.acme-payroll[.]com/login <script>alert(1)</script> <img src=x onerror=alert(2)>';
      const first = await reports.submit({ source: 'portal', reporter: 'a@acme.test', body: lure });
      await reports.submit({ source: 'portal', reporter: 'b@acme.test', body: lure });
      await reports.submit({ source: 'smtp', body: lure });
      lureGroup = first.groupId!;
      harmlessGroup = (await reports.submit({ source: 'portal', reporter: 'a@acme.test', body: 'is this real? https://acme-benefits.com/enrol' })).groupId!;
      protectedGroup = (await reports.submit({ source: 'portal', reporter: 'b@acme.test', body: 'odd login page https://login.acme-sso.com/x' })).groupId!;
    });
    afterAll(async () => {
      await kit?.close();
    });

    it('lists the groups with reporters, reports and first seen, filtered by status', async () => {
      expect(lureGroup).toMatch(/^rg_/);
      const reply = await page(kit, kit.admin, '/admin/reports');
      expect(reply.status).toBe(200);
      expect(reply.headers['cache-control']).toBe('no-store');
      const row = new RegExp(`<a href="/admin/reports/${lureGroup}">acme-payroll.com</a></td>\\s*<td><span class="badge warn">open</span></td>\\s*<td>2</td>\\s*<td>3</td>`);
      expect(reply.body).toMatch(row);
      const escalated = await page(kit, kit.admin, '/admin/reports?status=escalated');
      expect(escalated.body).not.toContain('acme-payroll.com');
      const bad = await page(kit, kit.admin, '/admin/reports?status=%3Cb%3Eall');
      expect(bad.status).toBe(400);
      expect(bad.body).toContain('"&lt;b&gt;all" is not a status');
    });

    it('shows a group: the lure escaped, the indicators with their verdicts, no incident yet', async () => {
      const reply = await page(kit, kit.admin, `/admin/reports/${lureGroup}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(reply.body).toContain('&lt;img src=x onerror=alert(2)&gt;');
      expect(reply.body).not.toContain('<script>alert');
      expect(reply.body).not.toContain('<img src=x');
      expect(reply.body).toContain('https://pay.acme-payroll.com/login');
      expect(reply.body).toMatch(/lookalike of acme/);
      expect(reply.body).toContain('anonymous');
      expect(reply.body).toContain('None yet: escalating the group drafts one.');
      expect(reply.body).toContain(`gatehouse report abuse ${lureGroup}`);
      for (const path of ['/admin/reports/rg_missing', '/admin/reports/not-a-group']) {
        const missing = await page(kit, kit.admin, path);
        expect(missing.status, path).toBeGreaterThanOrEqual(400);
        expect(missing.status, path).toBeLessThan(500);
      }
    });

    it('refuses staff and a password+TOTP administrator, the queue and a group alike', async () => {
      for (const [browser, code] of [
        [kit.staff, 'admin_forbidden'],
        [kit.passwordAdmin, 'admin_phishing_resistant_required'],
      ] as const) {
        for (const path of ['/admin/reports', `/admin/reports/${lureGroup}`]) {
          const reply = await page(kit, browser, path);
          expect(reply.status).toBe(403);
          expect(reply.body).not.toContain('acme-payroll');
        }
        const denied = await kit.fx.gatehouse.core.audit.list({ type: 'admin.denied', limit: 50 });
        expect(denied.map((event) => event.code)).toContain(code);
      }
    });

    it('escalates only with the CSRF token and a fresh key proof, then blocks and drafts the incident', async () => {
      const noToken = await action(kit, kit.admin, '/admin/reports/escalate', { group: lureGroup }, { csrf: null });
      expect(noToken.status).toBe(403);
      expect(noToken.json.error).toBe('csrf_token');
      const staff = await action(kit, kit.staff, '/admin/reports/escalate', { group: lureGroup }, { csrf: 'A'.repeat(43) });
      expect(staff.json.error).toBe('admin_forbidden');
      kit.clock.advance(11 * 60_000);
      const stale = await action(kit, kit.admin, '/admin/reports/escalate', { group: lureGroup });
      expect(stale.status).toBe(403);
      expect(stale.json.code).toBe('admin_step_up_required');
      expect((await kit.fx.gatehouse.reports.reports.show(lureGroup)).group.status).toBe('open');
      expect((await kit.fx.gatehouse.dns.domainBlocks.list()).map((b) => b.name)).not.toContain('acme-payroll.com');

      expect(await signInThroughPortal(kit.fx, kit.admin, kit.adminKey, { stepUp: true })).toBe(200);
      const done = await action(kit, kit.admin, '/admin/reports/escalate', { group: lureGroup });
      expect(done.status).toBe(200);
      expect(done.json).toMatchObject({ ok: true, message: 'acme-payroll.com is blocked on every instance and an incident is drafted.', redirect: `/admin/reports/${lureGroup}` });
      expect((await kit.fx.gatehouse.dns.domainBlocks.list()).map((b) => b.name)).toContain('acme-payroll.com');
      const admin = await kit.fx.gatehouse.core.identity.users.require('admin@acme.test');
      const [event] = await kit.fx.gatehouse.core.audit.list({ type: 'admin.console_action', limit: 1 });
      expect(event).toMatchObject({ userId: admin.id, actor: `admin:${admin.id}` });
      expect(JSON.parse(JSON.stringify(event!.detail))).toMatchObject({ action: 'report.escalate', group: lureGroup, domain: 'acme-payroll.com', escalated: true });
      const [escalated] = await kit.fx.gatehouse.core.audit.list({ type: 'report.escalated', limit: 1 });
      expect(escalated).toMatchObject({ actor: `admin:${admin.id}` });

      const shown = await page(kit, kit.admin, `/admin/reports/${lureGroup}`);
      expect(shown.body).toContain('<span class="badge danger">escalated</span>');
      expect(shown.body).toContain('gatehouse incident declare --title &quot;Reported lure: acme-payroll.com&quot; --domain acme-payroll.com');
      expect(shown.body).not.toContain('action="/admin/reports/escalate"');
      const twice = await action(kit, kit.admin, '/admin/reports/escalate', { group: lureGroup });
      expect(twice.json.message).toBe('Nothing changed: this group is escalated.');

      // The measures: five reports this week, blocked 11 minutes after the first report, and no lure
      // resolved through the gateway before it was reported (the query log is empty here).
      const queue = (await page(kit, kit.admin, '/admin/reports')).body.replace(/\s+/g, ' ');
      expect(queue).toContain('<div class="value">5</div><div class="label">reports in the last 7 days</div>');
      expect(queue).toContain('<div class="value">11 min 0 s</div>');
      expect(queue).toContain('<div class="value">100 %</div>');
    });

    it('refuses to escalate a never-block domain, with its code, and blocks nothing', async () => {
      // The domain turns out to be a partner's: listed as never-block after it was reported.
      writeFileSync(
        kit.fx.configPath,
        fixtureConfigYaml({ port: kit.fx.port, dir: kit.fx.dir, legacy: { password: true, totp: true }, extraYaml: REPORTS_YAML.replace('never_block: [example.org]', 'never_block: [example.org, acme-sso.com]'), ...(databaseUrl ? { databaseUrl } : {}) }),
      );
      expect(await kit.fx.gatehouse.config!.reload('test')).toBe(true);
      const refused = await action(kit, kit.admin, '/admin/reports/escalate', { group: protectedGroup });
      expect(refused.status).toBe(409);
      expect(refused.json.error).toBe('report_domain_never_blocked');
      expect((await kit.fx.gatehouse.dns.domainBlocks.list()).map((b) => b.name)).not.toContain('acme-sso.com');
      expect((await kit.fx.gatehouse.reports.reports.show(protectedGroup)).group.status).toBe('open');
      const missing = await action(kit, kit.admin, '/admin/reports/escalate', { group: 'rg_missing' });
      expect(missing.json.error).toBe('report_group_not_found');
      const malformed = await action(kit, kit.admin, '/admin/reports/escalate', { group: '../x' });
      expect(malformed.status).toBe(400);
    });

    it('dismisses with a note kept in the audit log and shown on the group', async () => {
      const noNote = await action(kit, kit.admin, '/admin/reports/dismiss', { group: harmlessGroup });
      expect(noNote.status).toBe(400);
      expect(noNote.json.message).toContain('note');
      const blank = await action(kit, kit.admin, '/admin/reports/dismiss', { group: harmlessGroup, note: '   ' });
      expect(blank.status).toBe(400);
      const note = 'HR confirmed: the benefits portal is ours <b>really</b>';
      const done = await action(kit, kit.admin, '/admin/reports/dismiss', { group: harmlessGroup, note });
      expect(done.status).toBe(200);
      expect(done.json.message).toBe('The reports of acme-benefits.com are dismissed.');
      const [dismissed] = await kit.fx.gatehouse.core.audit.list({ type: 'report.dismissed', limit: 1 });
      expect(JSON.parse(JSON.stringify(dismissed!.detail))).toMatchObject({ group: harmlessGroup, note });
      const shown = await page(kit, kit.admin, `/admin/reports/${harmlessGroup}`);
      expect(shown.body).toContain('HR confirmed: the benefits portal is ours &lt;b&gt;really&lt;/b&gt;');
      expect(shown.body).toContain('<span class="badge">dismissed</span>');
      expect((await page(kit, kit.admin, '/admin/reports?status=dismissed')).body).toContain('acme-benefits.com');
    });
  });
}
