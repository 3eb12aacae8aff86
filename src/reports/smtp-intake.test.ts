import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    intake = await startReportIntake({
      host: '127.0.0.1',
      port: 0,
      domain: 'acme.com',
      maxBytes: 64 * 1024,
      trustSender: true,
      isKnownUser: async (email) => known.has(email),
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
