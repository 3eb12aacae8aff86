import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DeclareInput, IncidentPlan } from '../incident/index.js';
import { GatehouseError } from '../lib/errors.js';
import { html, type SafeHtml } from '../portal/index.js';
import { formField, registerConsoleAction } from './console-action.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { registerConsolePagePost } from './console-page-post.js';
import { registerIncidentDetail } from './incident-page.js';
import { registerIncidentEvents } from './incident-events.js';
import { REVOKE_ALL_CONFIRMATION } from './sessions-page.js';

const MAX_LIST = 1000;

/** The declare form's list fields (a text box each) and how they are split: URLs may hold commas. */
const LIST_FIELDS = [
  { field: 'domains', label: 'Domains', split: /[\s,]+/ },
  { field: 'ips', label: 'Addresses (IP or CIDR)', split: /[\s,]+/ },
  { field: 'urls', label: 'URLs', split: /\s+/ },
  { field: 'users', label: 'Users known to be affected (emails)', split: /[\s,]+/ },
  { field: 'tokens', label: 'Leaked service tokens (names)', split: /[\s,]+/ },
] as const;
type ListField = (typeof LIST_FIELDS)[number]['field'];

interface DeclareForm {
  title: string;
  lists: Record<ListField, string[]>;
  allSessions: boolean;
  since: string;
}

/** The declare form as posted, each field bounded; the incident capability checks the rest. */
function declareFormOf(request: FastifyRequest): DeclareForm {
  const lists = {} as Record<ListField, string[]>;
  for (const { field, split } of LIST_FIELDS) {
    const values = [...new Set(formField(request, field, { optional: true, max: 100_000 }).split(split).filter(Boolean))];
    if (values.length > MAX_LIST) throw new GatehouseError('invalid_input', { status: 400, publicMessage: `The form field "${field}" lists more than ${MAX_LIST} entries.` });
    lists[field] = values;
  }
  return {
    title: formField(request, 'title', { max: 200 }),
    lists,
    allSessions: formField(request, 'all_sessions', { optional: true, max: 10 }) !== '',
    since: formField(request, 'since', { optional: true, max: 12 }).trim(),
  };
}

function declareInputOf(form: DeclareForm): DeclareInput {
  return { title: form.title, ...form.lists, allSessions: form.allSessions, ...(form.since ? { since: form.since } : {}) };
}

/** The form's fields as hidden inputs: the confirm button declares exactly what the plan showed. */
function hiddenFields(form: DeclareForm, csrfToken: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrfToken}"><input type="hidden" name="title" value="${form.title}">
    ${LIST_FIELDS.map(({ field }) => html`<input type="hidden" name="${field}" value="${form.lists[field].join('\n')}">`)}
    ${form.allSessions ? html`<input type="hidden" name="all_sessions" value="on">` : ''}<input type="hidden" name="since" value="${form.since}">`;
}

function planBody(plan: IncidentPlan, form: DeclareForm, csrfToken: string): SafeHtml {
  return html`<div class="notice warn" role="status">Nothing has been done yet. This is what declaring <strong>${plan.title}</strong> would do.</div>
    <div class="table-scroll" tabindex="0"><table><thead><tr><th scope="col">Step</th><th scope="col">Would</th></tr></thead>
    <tbody>${plan.steps.map((s) => html`<tr><td><code>${s.step}</code></td><td>${s.would}</td></tr>`)}</tbody></table></div>
    <h2>Users contained (${String(plan.users.length)})</h2>
    ${plan.users.length
      ? html`<ul>${plan.users.slice(0, 200).map((u) => html`<li>${u.email} <span class="muted">${u.sources.join(', ')}${u.hasKey ? '' : '; no key enrolled'}</span></li>`)}</ul>${plan.users.length > 200 ? html`<p class="muted">and ${String(plan.users.length - 200)} more.</p>` : ''}`
      : html`<p class="muted">None named or found yet (the hunt runs during the playbook).</p>`}
    <h2>Warning sent to everyone</h2><p><strong>${plan.warning.subject}</strong></p><pre class="incident-warning">${plan.warning.text}</pre>
    <form method="post" action="/admin/incidents/declare" data-console-action>${hiddenFields(form, csrfToken)}
      ${form.allSessions ? html`<p><strong>This signs out everyone in the organisation, you included.</strong></p><label for="confirm-all">Type <code>${REVOKE_ALL_CONFIRMATION}</code> to confirm</label><input id="confirm-all" name="confirm" type="text" autocomplete="off" required>` : ''}
      <div class="row"><button class="danger" type="submit">Declare and run the playbook</button><a class="button secondary" href="/admin/incidents">Cancel</a></div>
    </form>`;
}

/**
 * Incidents: the list (open, closed), the declare form whose first submission shows the dry-run plan
 * (what the playbook would revoke, block and tell people) and whose confirmation declares for real,
 * and each incident's page (timeline live over server-sent events, hunts, STIX, close).
 */
export function registerIncidentsPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/incidents', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const status = (request.query as { status?: unknown }).status ?? '';
    if (status !== '' && status !== 'open' && status !== 'closed') throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'The search parameter "status" must be open or closed.' });
    const incidents = await ctx.deps.incidents.list(status ? { status } : {});
    const view = ctx.view(request, reply, session, 'incidents', 'Incidents');
    const rows = incidents.map(
      (i) => html`<tr><td><a href="/admin/incidents/${i.id}">${i.title}</a></td><td>${i.status}</td><td>${i.runState}</td><td>${consoleTime(i.declaredAt)}</td><td>${i.declaredBy}</td>
        <td>${String(i.indicators.domains.length)} domains, ${String(i.indicators.ips.length)} addresses, ${String(i.indicators.users.length)} users</td><td>${consoleTime(i.closedAt)}</td></tr>`,
    );
    const body = html`
      <nav class="row" aria-label="Filter"><a href="/admin/incidents"${status === '' ? html` aria-current="page"` : ''}>All</a><a href="/admin/incidents?status=open"${status === 'open' ? html` aria-current="page"` : ''}>Open</a><a href="/admin/incidents?status=closed"${status === 'closed' ? html` aria-current="page"` : ''}>Closed</a></nav>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Title</th><th scope="col">Status</th><th scope="col">Playbook</th><th scope="col">Declared</th><th scope="col">By</th><th scope="col">Indicators</th><th scope="col">Closed</th></tr></thead>
        <tbody>${rows.length ? rows : html`<tr><td colspan="7" class="muted">No incident${status ? ` ${status}` : ''}.</td></tr>`}</tbody>
      </table></div>
      <section aria-labelledby="declare"><h2 id="declare">Declare an incident</h2>
      <p class="muted">Submitting shows the plan first; nothing happens until you confirm it.</p>
      <form method="post" action="/admin/incidents/plan" class="stack">
        <input type="hidden" name="_csrf" value="${view.csrfToken}">
        <label for="inc-title">Title</label><input id="inc-title" name="title" type="text" maxlength="200" required>
        ${LIST_FIELDS.map(({ field, label }) => html`<label for="inc-${field}">${label}, one per line</label><textarea id="inc-${field}" name="${field}" rows="2"></textarea>`)}
        <label><input name="all_sessions" type="checkbox" value="on"> Revoke every session of every user, not only the affected users’</label>
        <label for="inc-since">Hunt window (e.g. 24h, 7d; empty: the configured default)</label><input id="inc-since" name="since" type="text" maxlength="12">
        <button type="submit">Show the plan</button>
      </form></section>`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });

  registerConsolePagePost(scope, ctx, 'incidents', '/incidents/plan', 'incident.plan', async (request, session) => {
    const form = declareFormOf(request);
    const plan = await ctx.deps.incidents.declare(declareInputOf(form), { actor: `admin:${session.userId}`, dryRun: true });
    if (!('dryRun' in plan)) throw new Error('a dry run declared an incident');
    return { title: 'Declare an incident: the plan', body: (csrfToken) => planBody(plan, form, csrfToken), json: { plan }, audit: { title: plan.title } };
  });

  registerConsoleAction(scope, ctx, 'incidents', '/incidents/declare', 'incident.declare', async (request, session) => {
    const form = declareFormOf(request);
    // Revoking every session is the sessions page's "sign everyone out": typed, not clicked, there too.
    if (form.allSessions && formField(request, 'confirm', { optional: true, max: 100 }).trim().toLowerCase() !== REVOKE_ALL_CONFIRMATION) {
      throw new GatehouseError('confirmation_mismatch', { status: 400, publicMessage: `Type "${REVOKE_ALL_CONFIRMATION}" to confirm revoking every session.` });
    }
    const result = await ctx.deps.incidents.declare(declareInputOf(form), { actor: `admin:${session.userId}` });
    if (!('incident' in result)) throw new Error('a declaration returned a plan');
    const { incident, run } = result;
    return {
      message: `Incident ${incident.id} declared; the playbook is ${run.state}${run.failed.length ? ` (${run.failed.map((f) => f.step).join(', ')} failed)` : ''}.`,
      redirect: `/admin/incidents/${incident.id}`,
      audit: { incident: incident.id, playbook: run.state },
    };
  });

  registerIncidentDetail(scope, ctx);
  registerIncidentEvents(scope, ctx);
}
