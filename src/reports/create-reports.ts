import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { ReportsConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError, NotFoundError } from '../lib/errors.js';
import { randomToken, type Random } from '../lib/random.js';
import type { Database } from '../store/index.js';
import type { AbuseContact } from './abuse-contacts.js';
import { abuseReportText } from './abuse-report-text.js';
import { extractIndicators } from './extract-indicators.js';
import { ReportRepository, type ReportGroup, type ReportSource, type StoredReport } from './report-repository.js';
import { isSuspicious, lureDomainOf, triageIndicators, type TriagedIndicator, type VerdictSource } from './report-triage.js';
import { SAFE_ADDRESS, thankYouText } from './reporter-messages.js';

/** The runtime blocks a report escalation writes (src/dns `DomainBlocks`: a feed row reaches every instance). */

const withoutNul = (text: string): string => text.replaceAll('\u0000', '\uFFFD');

export interface DomainBlocker {
  list(): Promise<{ name: string }[]>;
  block(names: readonly string[], input: { reason: string; actor: string }): Promise<string[]>;
}

export interface ReportsOptions {
  db: Kysely<Database>;
  audit: Pick<AuditLog, 'record'>;
  clock: Clock;
  random: Random;
  verdicts: VerdictSource;
  domainBlocks: DomainBlocker;
  /** Read on every report (hot reload). `protectedDomains`: dns.protect.domains and the portal host. */
  settings: () => { reports: ReportsConfig; organisation: string; protectedDomains: readonly string[] };
}

export interface ReportInput {
  source: ReportSource;
  /** A directory email: signed in, or a known user by the intake. Absent: anonymous (never counted). */
  reporter?: string;
  /** An unverified sender (an intake's From:): audit detail only, never a reporter, never replied to. */
  claimedSender?: string;
  body: string;
  clientIp?: string;
  /** `mistake`: "this block is a mistake" from a block or denial page. */
  kind?: 'suspicious' | 'mistake';
}

export interface ReportOutcome {
  reportId: string;
  groupId: string | null;
  indicators: TriagedIndicator[];
  harmless: boolean;
  escalated: boolean;
  /** What the reporter is shown at once. */
  thankYou: { subject: string; text: string };
}

export const REPORT_ERRORS = { tooLarge: 'report_too_large', empty: 'report_empty', anonymousRefused: 'report_anonymous_refused', disabled: 'report_disabled' } as const;

export interface Reports {
  submit(input: ReportInput): Promise<ReportOutcome>;
  groups(filter?: { status?: ReportGroup['status'] }): Promise<ReportGroup[]>;
  show(groupId: string): Promise<{ group: ReportGroup; reports: StoredReport[] }>;
  /** A responder's escalation (any lure, any threshold) — still never a protected or listed domain. */
  escalate(groupId: string, actor: string): Promise<ReportGroup>;
  /** Closes an open group as harmless; `note` (why) is kept in the audit event. */
  dismiss(groupId: string, actor: string, note?: string): Promise<ReportGroup>;
  /** Prepares an abuse report per contact (status `draft`): nothing is sent until `sendAbuseReports`. */
  draftAbuseReports(groupId: string, contacts: readonly AbuseContact[], actor: string, evidence?: { addresses?: readonly string[] }): Promise<number>;
  /** A responder's decision: the group's drafts become `pending` and the server's outbox sends them. */
  sendAbuseReports(groupId: string, actor: string): Promise<number>;
  /** Records that an abuse desk acknowledged the report sent to `recipient` (`report_abuse_not_sent` before it was sent). */
  acknowledgeAbuseReport(groupId: string, recipient: string, actor: string, note?: string): Promise<void>;
  repository: ReportRepository;
}

/**
 * Reports of suspicious messages: extract, triage with the gateway's verdicts, group by lure domain,
 * escalate (block on every instance, draft an incident, alert responders), thank every reporter.
 *
 * Attacker first:
 * - Report flooding to block a legitimate domain: the threshold counts distinct identified reporters
 *   (anonymous and unverified intake reports count zero); only a suspicious lure (gateway warns or
 *   blocks, lookalike, young) escalates on its own; own, protected and `never_block` domains and link
 *   shorteners are never blocked by a report, not even by a responder's `escalate`.
 * - Hostile bodies: size-capped before anything is parsed; at most 50 indicators; never fetched (SSRF).
 * - Stored XSS: the body is stored as text and only ever rendered escaped (portal `html` template).
 * - Reply abuse: a thank-you is queued only for an identified reporter whose address passes
 *   `SAFE_ADDRESS`, never for an arbitrary From:, and never quotes the lure.
 */
export function createReports(options: ReportsOptions): Reports {
  const repository = new ReportRepository(options.db);
  const { clock } = options;
  const id = (prefix: string) => `${prefix}_${randomToken(options.random, 12)}`;

  function draftFor(group: { id: string; domain: string; firstSeenAt: number }, reports: readonly StoredReport[], reason: string): Record<string, unknown> {
    const urls = [...new Set(reports.flatMap((r) => r.indicators.filter((i) => i.registrableDomain === group.domain && i.value.includes('://')).map((i) => i.value)))].slice(0, 20);
    const verdicts = [...new Map(reports.flatMap((r) => r.indicators.filter((i) => i.registrableDomain === group.domain).map((i) => [i.domain, i.reason] as const)))].slice(0, 20);
    return {
      title: `Reported lure: ${group.domain}`.slice(0, 200),
      domains: [group.domain],
      urls,
      evidence: {
        reason,
        firstSeenAt: new Date(group.firstSeenAt).toISOString(),
        reporters: new Set(reports.map((r) => r.reporter).filter(Boolean)).size,
        reports: reports.length,
        verdicts: Object.fromEntries(verdicts),
        lures: reports.slice(0, 3).map((r) => r.body.slice(0, 2000)),
      },
      declare: `gatehouse incident declare --title "Reported lure: ${group.domain}" --domain ${group.domain}${urls.map((u) => ` --url '${u.replace(/'/g, '%27')}'`).join('')}`,
    };
  }

  /** The live group of `domain`, or a new one. A unique index keeps one live group per domain: losing a race joins the winner's. */
  async function joinOrCreateGroup(domain: string, now: number): Promise<string> {
    const existing = await repository.openGroupFor(domain);
    if (existing) {
      await repository.touchGroup(existing.id, now);
      return existing.id;
    }
    const fresh = id('rg');
    try {
      await repository.insertGroup({ id: fresh, domain, status: 'open', first_seen_at: now, last_seen_at: now, escalated_at: null, escalated_by: null, escalation_reason: null, incident_draft: null, dismissed_at: null, dismissed_by: null });
      return fresh;
    } catch (error) {
      const winner = await repository.openGroupFor(domain);
      if (!winner) throw error;
      await repository.touchGroup(winner.id, now);
      return winner.id;
    }
  }

  async function escalateGroup(groupId: string, actor: string, reason: string): Promise<boolean> {
    const group = await repository.group(groupId);
    if (!group) throw new NotFoundError('report group', 'report_group_not_found');
    const settings = options.settings();
    const neverBlock = [...settings.reports.never_block, ...settings.protectedDomains];
    if (neverBlock.some((d) => group.domain === d || group.domain.endsWith(`.${d}`))) {
      await options.audit.record({ type: 'report.escalation_refused', outcome: 'failure', code: 'report_domain_never_blocked', actor, detail: { group: groupId, domain: group.domain } });
      throw new GatehouseError('report_domain_never_blocked', { status: 409, publicMessage: `${group.domain} is an own, protected or never-block domain; a report cannot block it.`, detail: group.domain });
    }
    const reports = await repository.reportsOf(groupId);
    const draft = draftFor(group, reports, reason);
    if (!(await repository.markEscalated(groupId, { at: clock.now(), by: actor, reason, draft }))) return false;
    await options.domainBlocks.block([group.domain], { reason: `reported lure (group ${groupId}): ${reason}`, actor });
    await options.audit.record({ type: 'report.escalated', outcome: 'success', actor, detail: { group: groupId, domain: group.domain, reason, reports: reports.length } });
    for (const responder of settings.reports.responders) {
      await repository.enqueueMessage({
        key: `alert:${groupId}:${responder}`,
        group_id: groupId,
        kind: 'responder_alert',
        recipient: responder,
        subject: `Reported lure blocked: ${group.domain}`,
        // The domain is written defanged: a mail client must not make it a clickable link.
        body: `${group.domain.replace(/\./g, '[.]')} was blocked on every instance (${reason}). An incident is drafted: gatehouse report show ${groupId}`,
        status: 'pending',
        created_at: clock.now(),
      });
    }
    return true;
  }

  return {
    repository,

    async submit(raw) {
      // A forwarded message may carry NUL bytes (binary junk, an attacker's probe): PostgreSQL text
      // cannot hold them (the report would fail with a 500), SQLite would keep them. Kept visible as
      // U+FFFD, so the report is stored either way and nothing is lost.
      const input = { ...raw, body: withoutNul(raw.body), ...(raw.reporter ? { reporter: withoutNul(raw.reporter) } : {}), ...(raw.claimedSender ? { claimedSender: withoutNul(raw.claimedSender) } : {}) };
      const settings = options.settings();
      const config = settings.reports;
      if (!config.enabled) throw new GatehouseError(REPORT_ERRORS.disabled, { status: 404, publicMessage: 'Reporting is not enabled here.' });
      if (Buffer.byteLength(input.body, 'utf8') > config.max_body_bytes) {
        throw new GatehouseError(REPORT_ERRORS.tooLarge, { status: 413, publicMessage: `This report is too large (the limit is ${Math.floor(config.max_body_bytes / 1024)} KB). Paste only the suspicious part.` });
      }
      if (input.body.trim().length === 0) throw new GatehouseError(REPORT_ERRORS.empty, { status: 400, publicMessage: 'Paste the message or the link you want to report.' });
      if (!input.reporter && !config.allow_anonymous) {
        throw new GatehouseError(REPORT_ERRORS.anonymousRefused, { status: 401, publicMessage: 'Sign in to report, or ask your security team.' });
      }
      const now = clock.now();
      const blocked = (await options.domainBlocks.list()).map((b) => b.name);
      const indicators = await triageIndicators(extractIndicators(input.body), { verdicts: options.verdicts, blocked, neverBlock: [...config.never_block, ...settings.protectedDomains] });
      const mistake = input.kind === 'mistake';
      const suspicious = indicators.some(isSuspicious);
      const lure = mistake ? undefined : lureDomainOf(indicators);
      let groupId: string | null = null;
      let escalated = false;
      if (lure) {
        groupId = await joinOrCreateGroup(lure.registrableDomain, now);
      }
      const reportId = id('rp');
      await repository.insertReport({
        id: reportId,
        group_id: groupId,
        source: input.source,
        reporter: input.reporter ?? null,
        client_ip: input.clientIp ?? null,
        body: input.body,
        indicators: JSON.stringify(indicators),
        verdict: mistake ? 'mistake' : suspicious ? 'suspicious' : 'harmless',
        received_at: now,
      });
      await options.audit.record({ type: 'report.received', outcome: 'info', actor: input.reporter ? `reporter:${input.reporter}` : 'anonymous', ...(input.clientIp ? { ip: input.clientIp } : {}), detail: { report: reportId, group: groupId, source: input.source, ...(input.claimedSender ? { claimedSender: input.claimedSender.slice(0, 254) } : {}), domains: indicators.map((i) => i.domain).slice(0, 10), suspicious } });
      if (groupId && lure && suspicious && isSuspicious(lure)) {
        const reporters = await repository.distinctReporters(groupId, now - config.window_minutes * 60_000);
        const youngLookalike = config.escalate_young_lookalike && lure.lookalike && lure.young;
        const reason = youngLookalike ? `young lookalike${lure.brand ? ` of ${lure.brand}` : ''}` : reporters.length >= config.threshold_reporters ? `${reporters.length} reporters within ${config.window_minutes} minutes` : undefined;
        const group = await repository.group(groupId);
        if (reason && group?.status === 'open') escalated = await escalateGroup(groupId, 'system:reports', reason);
      }
      const thankYou = thankYouText({ organisation: settings.organisation, harmless: !suspicious, mistake });
      if (input.reporter && SAFE_ADDRESS.test(input.reporter)) {
        await repository.enqueueMessage({ key: `thanks:${reportId}`, group_id: groupId, kind: 'thank_you', recipient: input.reporter, subject: thankYou.subject, body: thankYou.text, status: 'pending', created_at: now });
      }
      return { reportId, groupId, indicators, harmless: !suspicious, escalated, thankYou };
    },

    groups: (filter) => repository.groups(filter),

    async show(groupId) {
      const group = await repository.group(groupId);
      if (!group) throw new NotFoundError('report group', 'report_group_not_found');
      return { group, reports: await repository.reportsOf(groupId) };
    },

    async escalate(groupId, actor) {
      await escalateGroup(groupId, actor, `escalated by ${actor}`);
      return (await repository.group(groupId)) as ReportGroup;
    },

    async draftAbuseReports(groupId, contacts, actor, evidence) {
      const group = await repository.group(groupId);
      if (!group) throw new NotFoundError('report group', 'report_group_not_found');
      const reports = await repository.reportsOf(groupId);
      const addresses = evidence?.addresses?.length ? { addresses: { at: clock.now(), list: evidence.addresses.slice(0, 8) } } : {};
      const { subject, text } = abuseReportText({ organisation: options.settings().organisation, group, reports, ...addresses });
      let drafted = 0;
      for (const contact of contacts) {
        if (!SAFE_ADDRESS.test(contact.email)) continue;
        await repository.enqueueMessage({ key: `abuse:${groupId}:${contact.email}`, group_id: groupId, kind: 'abuse_report', recipient: contact.email, subject, body: text, status: 'draft', created_at: clock.now() });
        drafted++;
      }
      await options.audit.record({ type: 'report.abuse_drafted', outcome: 'success', actor, detail: { group: groupId, contacts: contacts.map((c) => `${c.role}:${c.email}`) } });
      return drafted;
    },

    async sendAbuseReports(groupId, actor) {
      const drafts = (await repository.messages({ groupId, status: 'draft' })).filter((m) => m.kind === 'abuse_report');
      for (const draft of drafts) await repository.markMessage(draft.key, 'pending', clock.now());
      await options.audit.record({ type: 'report.abuse_sent', outcome: 'success', actor, detail: { group: groupId, recipients: drafts.map((d) => d.recipient) } });
      return drafts.length;
    },

    async acknowledgeAbuseReport(groupId, recipient, actor, note) {
      const address = recipient.trim().toLowerCase();
      const sent = (await repository.messages({ groupId })).find((m) => m.kind === 'abuse_report' && m.recipient === address);
      if (!sent || sent.status === 'draft') {
        throw new GatehouseError('report_abuse_not_sent', { status: 409, publicMessage: `No abuse report to ${address.slice(0, 254)} was sent for this group (send the drafts first: gatehouse report abuse ${groupId} --send).` });
      }
      // The note is the desk's reply, kept as text and only shown with control characters stripped.
      const text = (note ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim().slice(0, 1000);
      await repository.enqueueMessage({ key: `ack:${groupId}:${address}`, group_id: groupId, kind: 'abuse_ack', recipient: address, subject: 'acknowledged', body: text, status: 'received', created_at: clock.now() });
      await options.audit.record({ type: 'report.abuse_acknowledged', outcome: 'success', actor, detail: { group: groupId, recipient: address } });
    },

    async dismiss(groupId, actor, note) {
      const group = await repository.group(groupId);
      if (!group) throw new NotFoundError('report group', 'report_group_not_found');
      if (await repository.markDismissed(groupId, { at: clock.now(), by: actor })) {
        await options.audit.record({ type: 'report.dismissed', outcome: 'success', actor, detail: { group: groupId, domain: group.domain, ...(note ? { note: note.slice(0, 1000) } : {}) } });
      }
      return (await repository.group(groupId)) as ReportGroup;
    },
  };
}
