import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../lib/errors.js';
import { html, type SafeHtml } from '../portal/index.js';
import type { ReportGroup, ReportMeasures, StoredReport, TriagedIndicator } from '../reports/index.js';
import { formField, registerConsoleAction } from './console-action.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { dismissalNote, listReportGroups, type ReportGroupStatus } from './reports-query.js';

const PAGE_SIZE = 100;
const STATUSES: readonly ReportGroupStatus[] = ['open', 'escalated', 'dismissed'];
const GROUP_ID = /^rg_[A-Za-z0-9_-]{1,64}$/;
/** A report's lure shown on the page: enough to judge it; the full text is in `gatehouse report show`. */
const LURE_CHARS = 4000;
const STATUS_CLASS: Record<ReportGroupStatus, string> = { open: 'badge warn', escalated: 'badge danger', dismissed: 'badge' };

/** 95 s → "1 min 35 s"; the measures a responder reads at a glance. */
function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** What the 2022 response measured itself by: reports, how fast a reported lure was blocked, and how many were reported before anyone clicked. */
function measuresOf(m: ReportMeasures): SafeHtml {
  const share = m.reportedBeforeAnyClickShare === undefined ? '—' : `${Math.round(m.reportedBeforeAnyClickShare * 100)} %`;
  return html`<div class="grid">
    <div class="stat"><div class="value">${m.reportsLast7Days}</div><div class="label">reports in the last 7 days</div></div>
    <div class="stat"><div class="value">${duration(m.timeToBlockMedianSeconds)}</div><div class="label">median time from the first report to the block (last 30 days; longest ${duration(m.timeToBlockMaxSeconds)})</div></div>
    <div class="stat"><div class="value">${share}</div><div class="label">of reported lures nobody had resolved through the gateway before the first report</div></div>
  </div>`;
}

function groupIdOf(value: string): string {
  if (!GROUP_ID.test(value)) throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'That is not a report group.' });
  return value;
}

/**
 * The reports triage queue: groups of reports of the same lure domain (reporters, first seen,
 * status), a group's reports with the lure text (hostile: rendered escaped only), its indicators
 * with the gateway's verdicts, the drafted abuse reports and incident; escalate (block on every
 * instance, draft the incident, as `gatehouse report escalate`) or dismiss with a note. Every change
 * goes through the reports capability, which refuses to block own, protected and never-block domains.
 */
export function registerReportsPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/reports', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const raw = (request.query as { status?: unknown }).status;
    const view = ctx.view(request, reply, session, 'reports', 'Reports');
    const status = typeof raw === 'string' && raw !== '' ? raw : undefined;
    if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
      return reply.code(400).type('text/html; charset=utf-8').send(consolePage(view, html`<div class="notice error" role="alert">"${status.slice(0, 40)}" is not a status (${STATUSES.join(', ')}).</div>${statusNav(undefined)}`));
    }
    const [groups, measures] = await Promise.all([
      listReportGroups(ctx.deps.db, { ...(status ? { status: status as ReportGroupStatus } : {}), limit: PAGE_SIZE }),
      ctx.deps.reportMeasures(),
    ]);
    const rows = groups.map(
      (g) => html`<tr>
        <td><a href="/admin/reports/${encodeURIComponent(g.id)}">${g.domain}</a></td>
        <td><span class="${STATUS_CLASS[g.status]}">${g.status}</span></td>
        <td>${g.reporters}</td>
        <td>${g.reports}</td>
        <td>${consoleTime(g.firstSeenAt)}</td>
        <td>${consoleTime(g.lastSeenAt)}</td></tr>`,
    );
    const body = html`${measuresOf(measures)}${statusNav(status)}
      <p class="muted">${groups.length === PAGE_SIZE ? `The ${PAGE_SIZE} most recently reported groups.` : `${groups.length} group${groups.length === 1 ? '' : 's'}.`} Reports of the same lure domain are grouped; the reporters column counts identified people (anonymous reports count none).</p>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Lure domain</th><th scope="col">Status</th><th scope="col">Reporters</th><th scope="col">Reports</th><th scope="col">First seen</th><th scope="col">Last report</th></tr></thead>
        <tbody>${rows.length ? rows : html`<tr><td colspan="6" class="muted">No report group${status ? ` is ${status}` : ''}.</td></tr>`}</tbody>
      </table></div>`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });

  scope.get('/reports/:group', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const groupId = groupIdOf((request.params as { group: string }).group);
    const { group, reports } = await ctx.deps.reports.show(groupId);
    const messages = (await ctx.deps.reports.repository.messages({ groupId })).filter((m) => m.kind === 'abuse_report');
    const dismissal = group.status === 'dismissed' ? await dismissalNote(ctx.deps.db, groupId) : undefined;
    const view = ctx.view(request, reply, session, 'reports', `Reports of ${group.domain}`);
    const body = html`<p><a href="/admin/reports">All report groups</a></p>
      <dl class="facts">
        <dt>Status</dt><dd><span class="${STATUS_CLASS[group.status]}">${group.status}</span>${group.escalationReason ? ` — ${group.escalationReason} (${group.escalatedBy ?? ''})` : ''}</dd>
        <dt>Reporters</dt><dd>${group.reporters} identified, ${group.reports} report${group.reports === 1 ? '' : 's'}</dd>
        <dt>First seen</dt><dd>${consoleTime(group.firstSeenAt)}</dd>
        <dt>Last report</dt><dd>${consoleTime(group.lastSeenAt)}</dd>
        ${dismissal ? html`<dt>Dismissed</dt><dd>${consoleTime(dismissal.at)} by ${dismissal.actor ?? ''}${dismissal.note ? html`: <q>${dismissal.note}</q>` : ''}</dd>` : ''}
      </dl>
      ${group.status === 'open' ? actions(group, view.csrfToken) : ''}
      ${incidentSection(group)}
      <section aria-labelledby="abuse"><h2 id="abuse">Abuse contacts</h2>
        ${messages.length === 0
          ? html`<p class="muted">No abuse report drafted yet. <code>gatehouse report abuse ${group.id}</code> asks RDAP for the registrar’s abuse contact and drafts one; <code>--send</code> sends the drafts.</p>`
          : html`<ul>${messages.map((m) => html`<li><code>${m.recipient}</code>: ${m.status}${m.last_error ? html` <span class="muted">(${m.last_error})</span>` : ''}</li>`)}</ul>`}
      </section>
      <section aria-labelledby="reports"><h2 id="reports">Reports</h2>${reports.map(reportArticle)}</section>`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });

  registerConsoleAction(scope, ctx, 'reports', '/reports/escalate', 'report.escalate', async (request, session) => {
    const groupId = groupIdOf(formField(request, 'group', { max: 80 }));
    const before = (await ctx.deps.reports.show(groupId)).group;
    const group = await ctx.deps.reports.escalate(groupId, `admin:${session.userId}`);
    const escalated = before.status === 'open' && group.status === 'escalated';
    return {
      message: escalated ? `${group.domain} is blocked on every instance and an incident is drafted.` : `Nothing changed: this group is ${group.status}.`,
      redirect: `/admin/reports/${encodeURIComponent(groupId)}`,
      audit: { group: groupId, domain: group.domain, escalated },
    };
  });

  registerConsoleAction(scope, ctx, 'reports', '/reports/dismiss', 'report.dismiss', async (request, session) => {
    const groupId = groupIdOf(formField(request, 'group', { max: 80 }));
    const note = formField(request, 'note', { max: 1000 }).trim();
    if (!note) throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'Say why the group is dismissed (the note is kept in the audit log).' });
    const before = (await ctx.deps.reports.show(groupId)).group;
    const group = await ctx.deps.reports.dismiss(groupId, `admin:${session.userId}`, note);
    const dismissed = before.status === 'open' && group.status === 'dismissed';
    return {
      message: dismissed ? `The reports of ${group.domain} are dismissed.` : `Nothing changed: this group is ${group.status}.`,
      redirect: `/admin/reports/${encodeURIComponent(groupId)}`,
      audit: { group: groupId, domain: group.domain, dismissed },
    };
  });
}

function statusNav(current: string | undefined): SafeHtml {
  const link = (value: string | undefined, label: string) =>
    value === current ? html`<a href="/admin/reports${value ? `?status=${value}` : ''}" aria-current="page">${label}</a>` : html`<a href="/admin/reports${value ? `?status=${value}` : ''}">${label}</a>`;
  return html`<nav class="tabs" aria-label="Status">${link(undefined, 'All')}${STATUSES.map((s) => link(s, s.charAt(0).toUpperCase() + s.slice(1)))}</nav>`;
}

function actions(group: ReportGroup, csrf: string): SafeHtml {
  return html`<section class="report-actions" aria-labelledby="triage"><h2 id="triage">Triage</h2>
    <form method="post" action="/admin/reports/escalate" data-console-action>
      <input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="group" value="${group.id}">
      <p class="muted">Blocks ${group.domain} on every instance at once and drafts an incident with the evidence. Own, protected and never-block domains are refused.</p>
      <button class="danger" type="submit">Escalate: block and draft an incident</button>
    </form>
    <form method="post" action="/admin/reports/dismiss" data-console-action>
      <input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="group" value="${group.id}">
      <label for="dismiss-note">Why it is harmless (kept in the audit log)</label>
      <div class="row"><input id="dismiss-note" name="note" type="text" maxlength="1000" required><button class="secondary" type="submit">Dismiss</button></div>
    </form>
  </section>`;
}

function incidentSection(group: ReportGroup): SafeHtml {
  const declare = group.incidentDraft?.declare;
  return html`<section aria-labelledby="incident"><h2 id="incident">Drafted incident</h2>
    ${typeof declare === 'string'
      ? html`<p class="muted">Declare it with the evidence gathered:</p><pre class="command">${declare}</pre>`
      : html`<p class="muted">None yet: escalating the group drafts one.</p>`}
  </section>`;
}

function indicatorRow(i: TriagedIndicator): SafeHtml {
  const flags = [i.lookalike ? `lookalike${i.brand ? ` of ${i.brand}` : ''}` : '', i.young ? `young${i.ageDays !== undefined ? ` (${i.ageDays} days)` : ''}` : '', i.shortened ? 'shortened link' : '', i.alreadyBlocked ? 'already blocked' : '', i.neverBlock ? 'never blocked by a report' : '']
    .filter(Boolean)
    .join(', ');
  return html`<tr><td><code>${i.value}</code></td><td>${i.action}</td><td>${flags || html`<span class="muted">—</span>`}</td><td>${i.reason}</td></tr>`;
}

function reportArticle(report: StoredReport): SafeHtml {
  return html`<article class="report">
    <h3>${consoleTime(report.receivedAt)} · ${report.reporter ?? 'anonymous'} · ${report.source} · ${report.verdict}</h3>
    <pre class="lure">${report.body.slice(0, LURE_CHARS)}${report.body.length > LURE_CHARS ? '\n…' : ''}</pre>
    ${report.indicators.length
      ? html`<div class="table-scroll" tabindex="0"><table><thead><tr><th scope="col">Indicator</th><th scope="col">Gateway</th><th scope="col">Signals</th><th scope="col">Why</th></tr></thead><tbody>${report.indicators.map(indicatorRow)}</tbody></table></div>`
      : html`<p class="muted">No link or domain found in this report.</p>`}
  </article>`;
}
