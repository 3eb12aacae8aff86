import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockPage } from '../../src/dns/block-page.js';
import { startRdapFixture, type RdapFixture } from '../../src/intel/domain-age/test-support/rdap-fixture-server.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

/**
 * The portal's report page over HTTP (a real server, real sockets; HTTP-level, not Chromium), the SMTP
 * intake of the running server, and the block page's links. Three signed-in reporters of one lure:
 * one group, the domain blocked, an incident drafted, three thank-you notes queued.
 */
describe('report something suspicious (running server)', () => {
  let rdap: RdapFixture;
  let fx: GatehouseFixture;

  beforeAll(async () => {
    rdap = await startRdapFixture();
    rdap.set('acme-payroll.com', { kind: 'registered', registeredAt: Date.UTC(2001, 0, 1) });
    rdap.set('example.org', { kind: 'registered', registeredAt: Date.UTC(1995, 0, 1) });
    fx = await startFixture({
      rdapConnection: rdap.connection,
      extraYaml: `dns:
  protect: { brands: [acme], domains: [acme.localhost] }
  age: { rdap_overrides: { com: "${rdap.baseUrl}", org: "${rdap.baseUrl}" }, time_budget_ms: 5000 }
reports:
  threshold_reporters: 3
  per_address_per_hour: 1000
  intake: { host: 127.0.0.1, port: 0, domain: acme.localhost, trust_sender: true }
`,
    });
  });
  afterAll(async () => {
    await fx?.close();
    await rdap?.close();
  });

  async function post(browser: TestBrowser, body: string, options: { origin?: string | null } = {}) {
    const form = await browser.fetch(`${fx.portalOrigin}/report`);
    // Without a form (anonymous, not allowed) the page still set the double-submit cookie: reuse it.
    const cookie = [...browser.cookies(fx.portalHost)].find(([name]) => /csrf/i.test(name))?.[1] ?? '';
    const csrf = /name="_csrf" value="([^"]*)"/.exec(form.body)?.[1] ?? cookie;
    return browser.fetch(`${fx.portalOrigin}/report`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(options.origin === null ? {} : { origin: options.origin ?? fx.portalOrigin }) },
      body: new URLSearchParams({ _csrf: csrf, kind: 'suspicious', body }).toString(),
    });
  }

  it('three signed-in reporters: one group, blocked, an incident drafted, three thank-yous', async () => {
    const replies = [];
    for (const email of ['ann@acme.localhost', 'bob@acme.localhost', 'cy@acme.localhost']) {
      const browser = new TestBrowser(fx.port);
      await enrolThroughPortal(fx, browser, email);
      replies.push(await post(browser, `SMS: Acme payroll: confirm at hxxps://pay.acme-payroll[.]com/x?u=${email} <script>alert(1)</script>`));
    }
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.body).toContain('Thank you for reporting this');
      // The lure is shown escaped and defanged, never as markup or a link.
      expect(reply.body).not.toContain('<script>alert(1)</script>');
      expect(reply.body).toContain('pay[.]acme-payroll[.]com');
    }
    const reports = fx.gatehouse.reports.reports;
    const groups = await reports.groups();
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ domain: 'acme-payroll.com', status: 'escalated', reporters: 3 });
    expect(groups[0]!.incidentDraft).toMatchObject({ domains: ['acme-payroll.com'] });
    expect((await fx.gatehouse.dns.domainBlocks.list()).map((b) => b.name)).toContain('acme-payroll.com');
    const thanks = (await reports.repository.messages()).filter((m) => m.kind === 'thank_you');
    expect(thanks.map((m) => m.recipient).sort()).toEqual(['ann@acme.localhost', 'bob@acme.localhost', 'cy@acme.localhost']);
  });

  it('a harmless report gets a kind answer and no block', async () => {
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'dee@acme.localhost');
    const reply = await post(browser, 'Is this newsletter real? https://www.example.org/news');
    expect(reply.body).toContain('exactly the right thing to do');
    expect((await fx.gatehouse.dns.domainBlocks.list()).map((b) => b.name)).not.toContain('example.org');
  });

  it('refuses a post from another origin (csrf_origin) and an anonymous one (report_anonymous_refused), audited', async () => {
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'eve@acme.localhost');
    expect((await post(browser, 'https://acme-payroll.com', { origin: 'https://evil.example' })).status).toBe(403);
    const anonymous = await post(new TestBrowser(fx.port), 'https://acme-payroll.com');
    expect(anonymous.status).toBe(401);
    const codes = (await fx.gatehouse.core.store.db.selectFrom('audit_events').select('code').where('type', '=', 'report.refused').execute()).map((r) => r.code);
    expect(codes).toEqual(expect.arrayContaining(['csrf_origin', 'report_anonymous_refused']));
  });

  it('the anonymous visitor of /report from a block page is asked to sign in and comes back to the prefilled form', async () => {
    const reply = await new TestBrowser(fx.port).fetch(`${fx.portalOrigin}/report?kind=mistake&domain=acme-payroll.com`);
    expect(reply.body).toContain(`/sign-in?return_to=${encodeURIComponent('/report?domain=acme-payroll.com&kind=mistake')}`);
  });

  it('the block page offers "Report this" and "This is a mistake" for the blocked name', () => {
    const page = blockPage({ explanation: { name: 'acme-payroll.com', humanReason: 'blocked by an administrator' } as never, organisation: 'Acme', portalOrigin: fx.portalOrigin });
    expect(page).toContain(`href="${fx.portalOrigin}/report?domain=acme-payroll.com"`);
    expect(page).toContain(`href="${fx.portalOrigin}/report?kind=mistake&amp;domain=acme-payroll.com"`);
  });

  it('the running server takes a forwarded message on its SMTP intake from a user, and refuses an unknown sender (anonymous off)', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: fx.gatehouse.reports.intake!.port, secure: false, ignoreTLS: true });
    const refused = await transport
      .sendMail({ from: 'someone@acme.localhost', to: 'report@acme.localhost', subject: 'Fwd', text: 'hxxps://login.acme-payroll[.]com/z' })
      .then(() => undefined, (e: { responseCode?: number; response?: string }) => e);
    expect(refused?.responseCode).toBe(550);
    expect(refused?.response).toContain('5.7.1 anonymous reports are not accepted here; the sender is not a known user');
    const info = await transport.sendMail({ from: 'ann@acme.localhost', to: 'report@acme.localhost', subject: 'Fwd', text: 'hxxps://login.acme-payroll[.]com/z' });
    expect(info.response).toMatch(/^250 /);
    expect((await fx.gatehouse.reports.reports.groups())[0]!.reports).toBe(4);
  });

  it('without reports.webhook the gateway webhook is not served (404), token or not', async () => {
    const reply = await new TestBrowser(fx.port).fetch(`${fx.portalOrigin}/api/reports/intake`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"https://acme-payroll.com"}' });
    expect(reply.status).toBe(404);
  });

  it('/metrics carries the measures', async () => {
    const text = await fx.gatehouse.registry.metrics();
    expect(text).toMatch(/^gatehouse_reports_last_7_days \d+$/m);
    expect(text).toMatch(/^gatehouse_report_time_to_block_max_seconds [\d.]+$/m);
    expect(text).toMatch(/^gatehouse_report_before_any_click_ratio 1$/m);
  });
});
