import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileIpMatcher } from '../lib/ip/ip-matcher.js';
import { startReportIntake, type ReportIntake } from './smtp-intake.js';
import { openReportsFixture, type ReportsFixture } from './test-support/reports-fixture.js';

/**
 * The SMTP intake with a real SMTP client (nodemailer) over a real socket: a phone's forward is
 * triaged; a huge or malformed message is refused with a clear 5xx (so the sender keeps it) and
 * nothing is stored; a spoofed From: is never treated as an identified reporter.
 */
describe('SMTP report intake', () => {
  let f: ReportsFixture;
  let intake: ReportIntake;
  const known = new Set(['ann@acme.com']);

  beforeAll(async () => {
    f = await openReportsFixture();
    f.config.reports = { ...f.config.reports, allow_anonymous: true };
    intake = await startReportIntake({
      host: '127.0.0.1',
      port: 0,
      domain: 'acme.com',
      maxBytes: 64 * 1024,
      sender: { trustSender: true, isTrustedRelay: compileIpMatcher(['127.0.0.1/32', '::1/128']), isKnownUser: async (email) => known.has(email) },
      allowAnonymous: () => true,
      reports: f.reports,
    });
  });
  afterAll(async () => {
    await intake?.close();
    await f?.close();
  });

  const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port: intake.port, secure: false, ignoreTLS: true });
  const storedReports = async () => f.fixture.core.store.db.selectFrom('reports').select(['id', 'reporter', 'source', 'body']).execute();

  it('accepts a forwarded message, extracts the defanged link and attributes a known, consistent sender', async () => {
    const info = await transport().sendMail({
      from: 'ann@acme.com',
      to: 'report@acme.com',
      subject: 'Fwd: payroll',
      text: 'Got this SMS:\n> Acme HR: update your details at hxxps://login.acme-payroll[.]com/v',
    });
    expect(info.response).toMatch(/^250 2\.0\.0 report rp_\S+ received, thank you/);
    const rows = await storedReports();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source: 'smtp', reporter: 'ann@acme.com' });
    expect(rows[0]!.body).toContain('acme-payroll[.]com');
    const groups = await f.reports.groups();
    expect(groups.map((g) => g.domain)).toEqual(['acme-payroll.com']);
  });

  it('a forwarded message as an attachment (message/rfc822) is read, its HTML links too', async () => {
    const inner = 'From: "Acme IT" <it@acme-payroll.com>\r\nSubject: Reset\r\nContent-Type: text/html\r\n\r\n<a href="https://reset.acme-payroll.com/x">Reset</a>';
    await transport().sendMail({ from: 'ann@acme.com', to: 'report@acme.com', subject: 'Fwd', text: 'see attached', attachments: [{ content: inner, contentType: 'message/rfc822' }] });
    const rows = await storedReports();
    expect(rows.at(-1)!.body).toContain('https://reset.acme-payroll.com/x');
  });

  it('a spoofed or unknown sender is anonymous: no reporter, no reply', async () => {
    const before = (await f.reports.repository.messages({})).length;
    await transport().sendMail({ envelope: { from: 'bounce@evil.example', to: 'report@acme.com' }, from: 'ann@acme.com', to: 'report@acme.com', subject: 'x', text: 'https://acme-payroll.com/z' });
    await transport().sendMail({ from: 'stranger@elsewhere.example', to: 'report@acme.com', subject: 'x', text: 'https://acme-payroll.com/z' });
    const rows = await storedReports();
    expect(rows.slice(-2).map((r) => r.reporter)).toEqual([null, null]);
    expect((await f.reports.repository.messages({})).length).toBe(before);
  });

  it('refuses a huge message with 552 and stores nothing', async () => {
    const count = (await storedReports()).length;
    const error = await transport()
      .sendMail({ from: 'ann@acme.com', to: 'report@acme.com', subject: 'big', text: `https://acme-payroll.com ${'A'.repeat(200 * 1024)}` })
      .then(() => undefined, (e: unknown) => e as { responseCode?: number; response?: string });
    expect(error?.responseCode).toBe(552);
    expect((await storedReports()).length).toBe(count);
  });

  it('refuses malformed MIME with 550 and a clear reason, and stores nothing', async () => {
    const count = (await storedReports()).length;
    const raw = 'From: ann@acme.com\r\nTo: report@acme.com\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here https://acme-payroll.com\r\n';
    const error = await transport()
      .sendMail({ envelope: { from: 'ann@acme.com', to: ['report@acme.com'] }, raw })
      .then(() => undefined, (e: unknown) => e as { responseCode?: number; response?: string });
    expect(error?.responseCode).toBe(550);
    expect(error?.response).toContain('malformed message: a multipart body without a boundary');
    expect((await storedReports()).length).toBe(count);
  });

  it('refuses any recipient but the intake address', async () => {
    const error = await transport()
      .sendMail({ from: 'ann@acme.com', to: 'ceo@acme.com', subject: 'x', text: 'x' })
      .then(() => undefined, (e: unknown) => e as { responseCode?: number });
    expect(error?.responseCode).toBe(550);
  });
});

/**
 * The envelope sender and From: are claims. Three colleagues' addresses forged on connections that do
 * not come through a trusted relay count zero, so they cannot force a block; the same three through the
 * trusted relay do (the control that proves the first assertion can fail). With anonymous reports off,
 * an unidentified sender is refused at SMTP level (550 5.7.1 naming why) and nothing is stored.
 */
describe('SMTP intake: forged senders and allow_anonymous', () => {
  let f: ReportsFixture;
  const intakes: ReportIntake[] = [];
  const known = new Set(['ann@acme.com', 'bob@acme.com', 'cy@acme.com']);
  // The intake and `submit` read the same `reports.allow_anonymous`, as in the server.
  const allow = {
    set anonymous(value: boolean) {
      f.config.reports = { ...f.config.reports, allow_anonymous: value };
    },
  };

  beforeAll(async () => {
    f = await openReportsFixture();
  });
  afterAll(async () => {
    for (const intake of intakes) await intake.close();
    await f?.close();
  });

  async function intakeTrusting(relays: string[], trustSender = true): Promise<ReportIntake> {
    const intake = await startReportIntake({
      host: '127.0.0.1',
      port: 0,
      domain: 'acme.com',
      maxBytes: 64 * 1024,
      sender: { trustSender, isTrustedRelay: compileIpMatcher(relays), isKnownUser: async (email) => known.has(email) },
      allowAnonymous: () => f.config.reports.allow_anonymous,
      reports: f.reports,
      audit: f.fixture.core.audit,
    });
    intakes.push(intake);
    return intake;
  }
  const send = (intake: ReportIntake, from: string, text: string) =>
    nodemailer
      .createTransport({ host: '127.0.0.1', port: intake.port, secure: false, ignoreTLS: true })
      .sendMail({ from, to: 'report@acme.com', subject: 'Fwd', text })
      .then((info) => ({ ok: true as const, response: info.response }), (e: { responseCode?: number; response?: string }) => ({ ok: false as const, code: e.responseCode, response: e.response ?? '' }));
  const stored = async () => f.fixture.core.store.db.selectFrom('reports').select(['reporter', 'body']).execute();
  const groupOf = async (domain: string) => (await f.reports.groups()).find((g) => g.domain === domain);

  it('three forged colleagues from outside the trusted relays count zero: stored anonymous, no block', async () => {
    allow.anonymous = true;
    const intake = await intakeTrusting(['10.0.0.0/8']);
    for (const who of known) expect((await send(intake, who, 'Got this: https://acme-payroll.com/forged')).ok).toBe(true);
    const rows = (await stored()).filter((r) => r.body.includes('/forged'));
    expect(rows.map((r) => r.reporter)).toEqual([null, null, null]);
    const group = await groupOf('acme-payroll.com');
    expect(group).toMatchObject({ status: 'open', reporters: 0, reports: 3 });
    expect((await f.blocks.list()).map((b) => b.name)).not.toContain('acme-payroll.com');
    const audit = await f.fixture.core.store.db.selectFrom('audit_events').select('detail').where('type', '=', 'report.received').execute();
    expect(audit.filter((a) => a.detail.includes('"claimedSender":"bob@acme.com"'))).toHaveLength(1);
  });

  it('the same three through a trusted relay are reporters and escalate (the control)', async () => {
    const intake = await intakeTrusting(['127.0.0.1/32', '::1/128']);
    for (const who of known) expect((await send(intake, who, 'Got this: https://acme-payroll.com/relayed')).ok).toBe(true);
    expect(await groupOf('acme-payroll.com')).toMatchObject({ status: 'escalated', reporters: 3 });
    expect((await f.blocks.list()).map((b) => b.name)).toContain('acme-payroll.com');
  });

  it('anonymous off: an unknown sender is refused at MAIL FROM with 550 5.7.1 naming why, nothing stored, the code audited', async () => {
    allow.anonymous = false;
    const intake = await intakeTrusting(['127.0.0.1/32', '::1/128']);
    const before = (await stored()).length;
    const refused = await send(intake, 'stranger@elsewhere.example', 'https://acme-login.net/x');
    expect(refused).toMatchObject({ ok: false, code: 550 });
    expect(refused.ok || refused.response).toContain('5.7.1 anonymous reports are not accepted here; the sender is not a known user');
    expect((await stored()).length).toBe(before);
    const audit = await f.fixture.core.store.db.selectFrom('audit_events').select(['code', 'detail']).where('type', '=', 'report.refused').execute();
    expect(audit.at(-1)).toMatchObject({ code: 'report_anonymous_refused' });
    expect(audit.at(-1)!.detail).toContain('sender_unknown');
  });

  it('anonymous off: a From: that disagrees with the envelope is refused after DATA with 550 5.7.1, nothing stored', async () => {
    allow.anonymous = false;
    const intake = await intakeTrusting(['127.0.0.1/32', '::1/128']);
    const before = (await stored()).length;
    const refused = await nodemailer
      .createTransport({ host: '127.0.0.1', port: intake.port, secure: false, ignoreTLS: true })
      .sendMail({ envelope: { from: 'ann@acme.com', to: 'report@acme.com' }, from: 'bob@acme.com', to: 'report@acme.com', subject: 'x', text: 'https://acme-login.net/y' })
      .then(() => undefined, (e: { responseCode?: number; response?: string }) => e);
    expect(refused?.responseCode).toBe(550);
    expect(refused?.response).toContain('the From: header does not match the envelope sender');
    expect((await stored()).length).toBe(before);
  });

  it('anonymous off and trust_sender off: every message is refused, saying the intake does not identify senders', async () => {
    allow.anonymous = false;
    const intake = await intakeTrusting(['127.0.0.1/32'], false);
    const refused = await send(intake, 'ann@acme.com', 'https://acme-login.net/z');
    expect(refused).toMatchObject({ ok: false, code: 550 });
    expect(refused.ok || refused.response).toContain('this intake does not identify senders');
  });

  it('anonymous on: a forged sender is stored anonymous (as before)', async () => {
    allow.anonymous = true;
    const intake = await intakeTrusting(['10.0.0.0/8']);
    expect((await send(intake, 'ann@acme.com', 'https://wikipedia.org/anon-on'))).toMatchObject({ ok: true });
    expect((await stored()).find((r) => r.body.includes('anon-on'))?.reporter).toBeNull();
  });
});
