/** `gatehouse report submit | list | show | escalate | dismiss`, in-process, against a running server's store. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEmailSender } from '../../src/incident/index.js';
import { deliverReportMessages } from '../../src/reports/index.js';
import { startMailSink } from '../incident/mail-sink.js';
import { runGatehouse } from '../support/cli.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
const gatehouse = (args: string[], input?: string) => runGatehouse(args, { config: fx.configPath, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  // Age look-ups off: the CLI must never reach the internet in a test; the lookalike verdict is lexical.
  fx = await startFixture({ extraYaml: 'dns:\n  protect:\n    brands: [acme]\n    domains: [acme.com]\n  age:\n    enabled: false\nreports:\n  never_block: [example.org]\n' });
  for (const email of ['a@acme.com', 'b@acme.com', 'c@acme.com']) await fx.gatehouse.core.identity.users.add({ email });
});
afterAll(() => fx.close());

it('three reporters through `report submit` escalate; list and show tell the story; the lure cannot drive the terminal', async () => {
  const lure = 'Payroll: hxxps://pay.acme-payroll[.]com/x \u001b[2J\u001b]0;owned\u0007 now';
  const outcomes = [];
  for (const who of ['a@acme.com', 'b@acme.com', 'c@acme.com']) outcomes.push(JSON.parse((await gatehouse(['report', 'submit', '--as', who, '--json'], lure)).stdout) as { escalated: boolean; groupId: string });
  expect(outcomes.map((o) => o.escalated)).toEqual([false, false, true]);
  const list = await gatehouse(['report', 'list']);
  expect(list.stdout).toMatch(/acme-payroll\.com\s+escalated\s+3\s+3/);
  const show = await gatehouse(['report', 'show', outcomes[2]!.groupId]);
  expect(show.stdout).toContain('drafted incident: gatehouse incident declare --title "Reported lure: acme-payroll.com" --domain acme-payroll.com');
  expect(show.stdout).not.toContain('\u001b');
  expect((await fx.gatehouse.dns.domainBlocks.list()).map((b) => b.name)).toContain('acme-payroll.com');
});

it('dismiss closes a group; escalate refuses a never-block domain with its code; an unknown reporter is refused', async () => {
  const harmless = JSON.parse((await gatehouse(['report', 'submit', '--as', 'a@acme.com', '--json'], 'newsletter https://news.wikipedia.org/a')).stdout) as { groupId: string; harmless: boolean };
  expect(harmless.harmless).toBe(true);
  expect((await gatehouse(['report', 'dismiss', harmless.groupId])).stdout).toBe('wikipedia.org: dismissed\n');
  const unknown = await gatehouse(['report', 'submit', '--as', 'nobody@acme.com'], 'x');
  expect(unknown.stderr).toContain('[report_unknown_reporter]');
  const missing = await gatehouse(['report', 'escalate', 'rg_missing']);
  expect(missing.stderr).toContain('[report_group_not_found]');
});

it('report abuse drafts an abuse report for given contacts and sends it only with --send', async () => {
  const group = (await fx.gatehouse.reports.reports.groups()).find((g) => g.domain === 'acme-payroll.com')!;
  const drafted = await gatehouse(['report', 'abuse', group.id, '--no-rdap', '--to', 'abuse@registrar.example']);
  expect(drafted.stdout).toContain('acme-payroll.com: 1 abuse report(s) drafted');
  const messages = () => fx.gatehouse.reports.reports.repository.messages({ groupId: group.id });
  expect((await messages()).find((m) => m.kind === 'abuse_report')).toMatchObject({ status: 'draft', recipient: 'abuse@registrar.example' });
  expect((await gatehouse(['report', 'abuse', group.id, '--send'])).stdout).toBe('1 abuse report(s) queued for sending\n');
  expect((await messages()).find((m) => m.kind === 'abuse_report')).toMatchObject({ status: 'pending' });
  expect((await gatehouse(['report', 'show', group.id])).stdout).toContain('message: abuse_report to abuse@registrar.example: pending');
});

it('the takedown shows on the declared incident\'s timeline: drafted, sent (a real SMTP sink), acknowledged; acknowledging an unsent report is refused', async () => {
  const group = (await fx.gatehouse.reports.reports.groups()).find((g) => g.domain === 'acme-payroll.com')!;
  const notSent = await gatehouse(['report', 'abuse', group.id, '--acknowledged', 'nobody@host.example']);
  expect(notSent.stderr).toContain('[report_abuse_not_sent]');
  const sink = await startMailSink();
  const sender = createEmailSender({ host: '127.0.0.1', port: sink.port, secure: false, from: 'Acme Security <security@acme.com>', pool_size: 1, connection_timeout_ms: 5000, greeting_timeout_ms: 5000, socket_timeout_ms: 5000 });
  try {
    await deliverReportMessages(fx.gatehouse.reports.reports.repository, sender, fx.gatehouse.core.clock);
  } finally {
    sender.close();
    await sink.close();
  }
  expect(sink.messages.some((m) => m.to.includes('abuse@registrar.example'))).toBe(true);
  const declared = JSON.parse((await gatehouse(['incident', 'declare', '--title', 'Reported lure: acme-payroll.com', '--domain', 'acme-payroll.com', '--json'])).stdout) as { id: string; events: { source: string; summary: string }[] };
  expect(declared.events.map((e) => e.summary)).toEqual(['abuse report on acme-payroll[.]com drafted to abuse@registrar.example', 'abuse report on acme-payroll[.]com sent to abuse@registrar.example']);
  const acknowledged = await gatehouse(['report', 'abuse', group.id, '--acknowledged', 'Abuse@Registrar.example', '--note', 'ticket #4411\u001b[2J']);
  expect(acknowledged.stdout).toBe('abuse report to abuse@registrar.example marked acknowledged\n');
  const shown = await gatehouse(['incident', 'show', declared.id]);
  expect(shown.stdout).toMatch(/beside the playbook \(UTC\)\n.*takedown  abuse report on acme-payroll\[\.\]com drafted to abuse@registrar\.example\n.*takedown  abuse report on acme-payroll\[\.\]com sent to abuse@registrar\.example\n.*takedown  abuse report on acme-payroll\[\.\]com acknowledged by abuse@registrar\.example: ticket #4411/);
  expect(shown.stdout).not.toContain('\u001b');
  // An incident about another domain shows none of it.
  const other = JSON.parse((await gatehouse(['incident', 'declare', '--title', 'other', '--domain', 'evil-other.com', '--json'])).stdout) as { events: unknown[] };
  expect(other.events).toEqual([]);
});
