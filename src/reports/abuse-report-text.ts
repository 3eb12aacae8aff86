import type { ReportGroup, StoredReport } from './report-repository.js';

/**
 * The abuse report a responder sends to a registrar or host: what the lure said, when it was first
 * seen, why it is malicious. The domain and URLs are defanged (`[.]`) so no mail client makes them
 * clickable links; the lure text is quoted as plain text and capped.
 */
export function abuseReportText(input: { organisation: string; group: ReportGroup; reports: readonly StoredReport[]; addresses?: { at: number; list: readonly string[] } }): { subject: string; text: string } {
  const { group, reports } = input;
  const defang = (s: string) => s.replace(/\./g, '[.]').replace(/^http/i, 'hxxp');
  const indicators = [...new Map(reports.flatMap((r) => r.indicators.filter((i) => i.registrableDomain === group.domain).map((i) => [i.value, i] as const))).values()].slice(0, 20);
  const lure = reports[0]?.body.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').slice(0, 2000) ?? '';
  const text = [
    `${input.organisation} reports a phishing domain: ${defang(group.domain)}`,
    '',
    `First reported: ${new Date(group.firstSeenAt).toISOString()} by ${group.reporters} of our people (${group.reports} report(s)).`,
    ...(input.addresses && input.addresses.list.length > 0 ? [`Resolved addresses (${new Date(input.addresses.at).toISOString()}): ${input.addresses.list.join(', ')}`] : []),
    '',
    'Why we believe it is malicious:',
    ...indicators.map((i) => `- ${defang(i.value)}: ${i.reason}${i.lookalike && i.brand ? ` (imitates ${i.brand})` : ''}`),
    '',
    'The message our people received (quoted as text):',
    ...lure.split('\n').map((line) => `> ${defang(line)}`),
    '',
    'Please suspend the domain and any hosting serving it. We can provide further evidence on request.',
  ].join('\n');
  return { subject: `Phishing report: ${defang(group.domain)}`, text };
}
