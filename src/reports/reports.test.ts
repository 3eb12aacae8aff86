import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_TEST_URL, havePostgres } from '../../test/peers.js';
import { codeOf } from '../../test/support/error-code.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { abuseContactsOf, lookupAbuseContacts } from './abuse-contacts.js';
import { measureReports } from './report-measures.js';
import { deliverReportMessages } from './deliver-report-messages.js';
import { createEmailSender } from '../incident/index.js';
import { startMailSink } from '../../test/incident/mail-sink.js';
import { openReportsFixture, type ReportsFixture } from './test-support/reports-fixture.js';

/**
 * Triage, grouping and escalation against the real domain classifier and a real store, with the
 * attacker's moves as refusals: report flooding (anonymous, one person many times), a report of an
 * own or listed domain, a shortener, a huge body.
 */
const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async () => undefined },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_reports') },
];

const LURE = (n: number) => `From: +1 555 0100\nAcme HR: your payroll details need updating today: hxxps://login.acme-payroll[.]com/verify?id=${n}`;

for (const engine of engines) {
  describe.runIf(engine.available)(`reports (${engine.name})`, () => {
    let f: ReportsFixture;
    beforeAll(async () => {
      const url = await engine.url();
      f = await openReportsFixture(url ? { databaseUrl: url } : {});
    });
    afterAll(async () => f?.close());

    it('keeps a report whose text carries NUL bytes (stored as U+FFFD) instead of failing on the database', async () => {
      const outcome = await f.reports.submit({ source: 'smtp', reporter: 'ann@acme.com', body: `junk\u0000bytes https://acme-nul-lure.com/x\u0000`, claimedSender: 'x\u0000@evil.test' });
      const { reports } = await f.reports.show(outcome.groupId!);
      expect(reports.map((r) => r.body)).toContain('junk\uFFFDbytes https://acme-nul-lure.com/x\uFFFD');
    });

    it('three reporters of the same lure: one group, blocked on every instance, a drafted incident, three thank-yous', async () => {
      const first = await f.reports.submit({ source: 'portal', reporter: 'ann@acme.com', body: LURE(1) });
      expect(first.indicators[0]).toMatchObject({ domain: 'login.acme-payroll.com', registrableDomain: 'acme-payroll.com', defanged: true, lookalike: true, young: false });
      expect(first).toMatchObject({ harmless: false, escalated: false });
      // The same person again does not count twice.
      expect((await f.reports.submit({ source: 'portal', reporter: 'ann@acme.com', body: LURE(2) })).escalated).toBe(false);
      f.fixture.clock.advance(60_000);
      expect((await f.reports.submit({ source: 'portal', reporter: 'bob@acme.com', body: LURE(3) })).escalated).toBe(false);
      f.fixture.clock.advance(60_000);
      const third = await f.reports.submit({ source: 'smtp', reporter: 'cy@acme.com', body: LURE(4) });
      expect(third.escalated).toBe(true);
      expect(new Set([first.groupId, third.groupId]).size).toBe(1);

      const groups = await f.reports.groups();
      expect(groups.filter((g) => g.domain === 'acme-payroll.com')).toHaveLength(1);
      const { group } = await f.reports.show(third.groupId!);
      expect(group).toMatchObject({ status: 'escalated', reports: 4, reporters: 3, escalationReason: '3 reporters within 30 minutes' });
      expect(group.incidentDraft).toMatchObject({ title: 'Reported lure: acme-payroll.com', domains: ['acme-payroll.com'], evidence: { reporters: 3, reports: 4 } });

      // Every instance: the block is a row with its change-feed entry; a second DomainBlocks (another instance) reads it.
      expect((await f.blocks.list()).map((b) => b.name)).toContain('acme-payroll.com');
      const feed = await f.fixture.core.store.db.selectFrom('change_feed').selectAll().where('kind', '=', 'dns.blocks_changed').execute();
      expect(feed.some((row) => String(row.payload).includes('acme-payroll.com'))).toBe(true);

      const messages = await f.reports.repository.messages({ groupId: third.groupId! });
      expect(messages.filter((m) => m.kind === 'thank_you').map((m) => m.recipient).sort()).toEqual(['ann@acme.com', 'ann@acme.com', 'bob@acme.com', 'cy@acme.com']);
      expect(new Set(messages.filter((m) => m.kind === 'thank_you').map((m) => m.recipient)).size).toBe(3);
      expect(messages.filter((m) => m.kind === 'responder_alert')).toMatchObject([{ recipient: 'soc@acme.com', body: expect.stringContaining('acme-payroll[.]com') }]);
      // A fourth report joins the escalated group; nothing is blocked twice.
      expect((await f.reports.submit({ source: 'portal', reporter: 'dee@acme.com', body: LURE(5) })).groupId).toBe(third.groupId);
    });

    it('a young lookalike escalates on the first report', async () => {
      const outcome = await f.reports.submit({ source: 'portal', reporter: 'eve@acme.com', body: 'Sign in at https://acme-login.net/sso now' });
      expect(outcome.indicators[0]).toMatchObject({ lookalike: true, young: true });
      expect(outcome.escalated).toBe(true);
      expect((await f.reports.show(outcome.groupId!)).group.escalationReason).toMatch(/^young lookalike/);
    });

    it('a harmless report gets a kind answer and no block', async () => {
      const outcome = await f.reports.submit({ source: 'portal', reporter: 'ann@acme.com', body: 'Is this real? https://en.wikipedia.org/wiki/Phishing' });
      expect(outcome).toMatchObject({ harmless: true, escalated: false });
      expect(outcome.thankYou.text).toContain('exactly the right thing to do');
      expect((await f.blocks.list()).map((b) => b.name)).not.toContain('wikipedia.org');
    });

    it('flooding: anonymous reports and one person many times never reach the threshold', async () => {
      f.config.reports = { ...f.config.reports, allow_anonymous: true };
      const body = 'Payroll: https://pay.acme-payroll.org/x';
      f.rdap.set('acme-payroll.org', { kind: 'registered', registeredAt: Date.UTC(2001, 0, 1) });
      for (let i = 0; i < 6; i++) expect((await f.reports.submit({ source: 'portal', body, clientIp: `203.0.113.${i}` })).escalated).toBe(false);
      for (let i = 0; i < 3; i++) expect((await f.reports.submit({ source: 'portal', reporter: 'mallory@acme.com', body })).escalated).toBe(false);
      expect((await f.blocks.list()).map((b) => b.name)).not.toContain('acme-payroll.org');
      // Anonymous reports get no thank-you mail: there is nobody verified to write to.
      const anonymous = await f.reports.repository.messages();
      expect(anonymous.every((m) => m.recipient !== '')).toBe(true);
    });

    it('never blocks an own, protected or listed domain, nor a shortener; a responder cannot either', async () => {
      const own = 'Odd mail linking https://login.acme.com/reset and https://popular.example.com/x and https://bit.ly/abc';
      for (const who of ['a@acme.com', 'b@acme.com', 'c@acme.com']) expect((await f.reports.submit({ source: 'portal', reporter: who, body: own })).groupId).toBeNull();
      const names = (await f.blocks.list()).map((b) => b.name);
      for (const name of ['acme.com', 'example.com', 'popular.example.com', 'bit.ly']) expect(names).not.toContain(name);

      const harmless = (await f.reports.groups()).find((g) => g.domain === 'wikipedia.org')!;
      f.config.reports = { ...f.config.reports, never_block: [...f.config.reports.never_block, 'wikipedia.org'] };
      expect(await codeOf(f.reports.escalate(harmless.id, 'cli'))).toBe('report_domain_never_blocked');
      expect((await f.blocks.list()).map((b) => b.name)).not.toContain('wikipedia.org');
    });

    it('refuses a huge body, an empty one and an anonymous one when anonymous reports are off', async () => {
      f.config.reports = { ...f.config.reports, allow_anonymous: false, max_body_bytes: 4096 };
      expect(await codeOf(f.reports.submit({ source: 'portal', reporter: 'ann@acme.com', body: 'x'.repeat(5000) }))).toBe('report_too_large');
      expect(await codeOf(f.reports.submit({ source: 'portal', reporter: 'ann@acme.com', body: '  ' }))).toBe('report_empty');
      expect(await codeOf(f.reports.submit({ source: 'portal', body: 'https://acme-payroll.com' }))).toBe('report_anonymous_refused');
    });

    it('a responder dismisses an open group and escalates another by hand', async () => {
      f.rdap.set('acme-bonus.com', { kind: 'registered', registeredAt: Date.UTC(2001, 0, 1) });
      const outcome = await f.reports.submit({ source: 'portal', reporter: 'ann@acme.com', body: 'bonus at https://acme-bonus.com' });
      expect((await f.reports.escalate(outcome.groupId!, 'cli')).status).toBe('escalated');
      expect((await f.blocks.list()).map((b) => b.name)).toContain('acme-bonus.com');
      const other = await f.reports.submit({ source: 'portal', reporter: 'ann@acme.com', body: 'https://pay.acme-payroll.org/y' });
      expect((await f.reports.dismiss(other.groupId!, 'cli')).status).toBe('dismissed');
      expect(await codeOf(f.reports.dismiss('rg_nope', 'cli'))).toBe('report_group_not_found');
    });

    it('measures: reports per week, time from first report to block, share reported before any click', async () => {
      const db = f.fixture.core.store.db;
      const before = await measureReports(db, f.fixture.clock.now());
      const total = Number((await db.selectFrom('reports').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
      expect(before.reportsLast7Days).toBe(total);
      // acme-payroll.com: first report, then two minutes to the third reporter and the block; the others at once.
      expect(before.timeToBlockMaxSeconds).toBe(120);
      expect(before.reportedBeforeAnyClickShare).toBe(1);
      // Someone resolved (clicked) acme-bonus.com before anyone reported it.
      await db.insertInto('dns_queries').values({ at: Date.UTC(2026, 0, 1), client: '192.0.2.7', user_id: null, protocol: 'udp', name: 'www.acme-bonus.com', type: 'A', verdict: 'allow', reason: '', latency_ms: 1 }).execute();
      const after = await measureReports(db, f.fixture.clock.now());
      expect(after.reportedBeforeAnyClickShare).toBeLessThan(1);
      expect(after.reportedBeforeAnyClickShare).toBeGreaterThan(0);
    });

    it('takedown help: the registrar abuse contact from RDAP (local fixture), a drafted abuse report, sent only on request', async () => {
      const registrar = {
        objectClassName: 'entity', roles: ['registrar'], vcardArray: ['vcard', [['fn', {}, 'text', 'Cheap Names Inc']]],
        entities: [{ objectClassName: 'entity', roles: ['abuse'], vcardArray: ['vcard', [['fn', {}, 'text', 'Abuse desk'], ['email', {}, 'text', 'Abuse@CheapNames.example']]] }],
      };
      f.rdap.set('acme-payroll.com', { kind: 'raw', contentType: 'application/rdap+json', body: JSON.stringify({ objectClassName: 'domain', ldhName: 'acme-payroll.com', entities: [registrar] }) });
      const looked = await lookupAbuseContacts('acme-payroll.com', { rdapOverrides: { com: f.rdap.baseUrl }, timeoutMs: 5000, connection: f.rdap.connection });
      expect(looked).toMatchObject({ contacts: [{ role: 'registrar', email: 'abuse@cheapnames.example', name: 'Abuse desk' }] });
      // Production: no connection options, so the loopback fixture is refused (RDAP never reaches our own network).
      expect(await lookupAbuseContacts('acme-payroll.com', { rdapOverrides: { com: f.rdap.baseUrl }, timeoutMs: 5000 })).toMatchObject({ error: expect.stringMatching(/^non_public_address/) });
      expect(abuseContactsOf({ entities: [{ roles: ['abuse'], vcardArray: ['vcard', [['email', {}, 'text', 'x@y.example\r\nBcc: all@z.example']]] }] })).toEqual([]);

      const group = (await f.reports.groups()).find((g) => g.domain === 'acme-payroll.com')!;
      expect(await f.reports.draftAbuseReports(group.id, 'contacts' in looked ? looked.contacts : [], 'cli')).toBe(1);
      const [draft] = (await f.reports.repository.messages({ groupId: group.id })).filter((m) => m.kind === 'abuse_report');
      expect(draft).toMatchObject({ status: 'draft', recipient: 'abuse@cheapnames.example', subject: 'Phishing report: acme-payroll[.]com' });
      expect(draft!.body).toContain('> From: +1 555 0100');
      expect(draft!.body).toContain('hxxps://login[.]acme-payroll[.]com/verify');
      expect(draft!.body).not.toMatch(/https?:\/\//);
      expect(await f.reports.sendAbuseReports(group.id, 'cli')).toBe(1);
      expect((await f.reports.repository.messages({ groupId: group.id, status: 'pending' })).some((m) => m.kind === 'abuse_report')).toBe(true);
    });

    it('delivers the thank-you notes and alerts through the SMTP sender (a real SMTP sink); drafts stay unsent until sent', async () => {
      const sink = await startMailSink();
      const sender = createEmailSender({ host: '127.0.0.1', port: sink.port, secure: false, from: 'Acme Security <security@acme.com>', pool_size: 1, connection_timeout_ms: 5000, greeting_timeout_ms: 5000, socket_timeout_ms: 5000 });
      try {
        const pending = await f.reports.repository.messages({ status: 'pending' });
        const result = await deliverReportMessages(f.reports.repository, sender, f.fixture.clock);
        expect(result).toEqual({ sent: pending.length, failed: 0 });
        const thanks = sink.messages.filter((m) => m.to.includes('bob@acme.com'));
        expect(thanks[0]).toMatchObject({ subject: 'Thank you for your report' });
        expect(thanks[0]!.text).not.toContain('acme-payroll');
        expect(await f.reports.repository.messages({ status: 'pending' })).toEqual([]);
        // A second run sends nothing again.
        expect(await deliverReportMessages(f.reports.repository, sender, f.fixture.clock)).toEqual({ sent: 0, failed: 0 });
      } finally {
        sender.close();
        await sink.close();
      }
    });

    it('concurrent first reports of a new lure make one group', async () => {
      f.rdap.set('acme-race.com', { kind: 'registered', registeredAt: Date.UTC(2001, 0, 1) });
      const outcomes = await Promise.all(['r1@acme.com', 'r2@acme.com', 'r3@acme.com', 'r4@acme.com'].map((who) => f.reports.submit({ source: 'portal', reporter: who, body: 'https://acme-race.com/x' })));
      expect(new Set(outcomes.map((o) => o.groupId)).size).toBe(1);
      expect((await f.reports.groups()).filter((g) => g.domain === 'acme-race.com')).toHaveLength(1);
    });
  });
}
