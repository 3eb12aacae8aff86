import type { FastifyInstance, FastifyRequest } from 'fastify';
import { buildStixBundle, HUNT_NAMES, type HuntResult, type IncidentView } from '../incident/index.js';
import { GatehouseError } from '../lib/errors.js';
import { html, type SafeHtml } from '../portal/index.js';
import { formField, registerConsoleAction } from './console-action.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { registerConsolePagePost } from './console-page-post.js';

const SHOWN = 200;
/** The playbook's incident ids (`inc-` and a UUID): anything else is refused before a query. */
const INCIDENT_ID = /^inc-[0-9a-f-]{36}$/;

export function incidentIdOf(request: FastifyRequest): string {
  const id = String((request.params as { id?: unknown }).id ?? '');
  if (!INCIDENT_ID.test(id)) throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'That is not an incident id.' });
  return id;
}

function list(values: readonly string[]): SafeHtml {
  return values.length ? html`${values.map((v, i) => html`${i ? ', ' : ''}<code>${v}</code>`)}` : html`<span class="muted">none</span>`;
}

function short(value: unknown, max = 300): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Which indicator list a hunt takes, so an empty box hunts the incident's own indicators. */
const HUNT_LIST: Record<string, 'ips' | 'domains' | 'tokens' | undefined> = { 'from-ip': 'ips', 'resolved-domain': 'domains', 'token-use': 'tokens' };

function huntBody(id: string, result: HuntResult): SafeHtml {
  return html`<p><a class="button secondary" href="/admin/incidents/${id}">Back to the incident</a></p>
    <p>Hunt <code>${result.hunt}</code> from ${consoleTime(result.window.since)} to ${consoleTime(result.window.until)}: ${String(result.users.length)} users, ${String(result.sessions.length)} live sessions, ${String(result.evidence.length)} evidence rows${result.truncated ? ' (cut at the limit)' : ''}.</p>
    <h2>Users</h2>
    ${result.users.length ? html`<ul>${result.users.slice(0, SHOWN).map((u) => html`<li>${u.email} <span class="muted">${u.status}</span><ul>${u.reasons.map((r) => html`<li>${r}</li>`)}</ul></li>`)}</ul>` : html`<p class="muted">No user found.</p>`}
    ${result.clients?.length ? html`<h2>Client addresses that asked</h2><p>${list(result.clients.slice(0, SHOWN))}</p>` : ''}
    ${result.tokens?.length ? html`<h2>Tokens</h2><ul>${result.tokens.map((t) => html`<li><code>${t.name}</code> (${t.status}, owner ${t.owner}): networks ${list(t.networks.map((n) => n.value))}; apps ${list(t.apps.map((a) => a.value))}; ${String(t.refusals)} refusals</li>`)}</ul>` : ''}
    <h2>Live sessions</h2>
    ${result.sessions.length ? html`<div class="table-scroll" tabindex="0"><table><thead><tr><th scope="col">Session</th><th scope="col">User</th><th scope="col">Address</th><th scope="col">Method</th><th scope="col">Started</th></tr></thead>
      <tbody>${result.sessions.slice(0, SHOWN).map((s) => html`<tr><td><code>${s.handle}</code></td><td>${result.users.find((u) => u.id === s.userId)?.email ?? s.userId}</td><td><code>${s.ip}</code></td><td>${s.amr.join(' ')}${s.phishingResistant ? '' : ' (not phishing-resistant)'}</td><td>${consoleTime(s.createdAt)}</td></tr>`)}</tbody></table></div>` : html`<p class="muted">No live session.</p>`}
    <h2>Evidence</h2>
    ${result.evidence.length ? html`<div class="table-scroll" tabindex="0"><table><thead><tr><th scope="col">Time</th><th scope="col">Source</th><th scope="col">Type</th><th scope="col">Outcome</th><th scope="col">Address</th><th scope="col">Detail</th></tr></thead>
      <tbody>${result.evidence.slice(0, SHOWN).map((e) => html`<tr><td>${consoleTime(e.at)}</td><td>${e.source}${e.ref !== undefined ? ` #${e.ref}` : ''}</td><td>${e.type}</td><td>${e.outcome ?? ''}${e.code ? ` ${e.code}` : ''}</td><td>${e.ip ?? ''}</td><td><code>${short(e.detail)}</code></td></tr>`)}</tbody></table></div>
      ${result.evidence.length > SHOWN ? html`<p class="muted">The first ${String(SHOWN)} of ${String(result.evidence.length)} rows (the admin API and <code>gatehouse hunt</code> give all).</p>` : ''}` : html`<p class="muted">No evidence.</p>`}`;
}

function detailBody(incident: IncidentView, csrfToken: string): SafeHtml {
  const csrf = html`<input type="hidden" name="_csrf" value="${csrfToken}">`;
  const { indicators } = incident;
  const open = incident.status === 'open';
  return html`
    <dl class="facts">
      <dt>Status</dt><dd>${incident.status}; playbook ${incident.runState}</dd>
      <dt>Declared</dt><dd>${consoleTime(incident.declaredAt)} by ${incident.declaredBy}</dd>
      ${incident.closedAt !== undefined ? html`<dt>Closed</dt><dd>${consoleTime(incident.closedAt)} by ${incident.closedBy ?? ''}${incident.closeNote ? html`: ${incident.closeNote}` : ''}</dd>` : ''}
      <dt>Domains</dt><dd>${list(indicators.domains)}</dd><dt>Addresses</dt><dd>${list(indicators.ips)}</dd><dt>URLs</dt><dd>${list(indicators.urls)}</dd>
      <dt>Tokens</dt><dd>${list(indicators.tokens)}</dd>
      <dt>Options</dt><dd>${incident.options.allSessions ? 'every session revoked' : 'affected users’ sessions revoked'}; hunt window ${String(Math.round(incident.options.huntWindowMs / 3_600_000))} h</dd>
      <dt>Notifications</dt><dd>${Object.entries(incident.outbox).map(([status, n]) => `${status} ${n}`).join(', ') || 'none'}</dd>
    </dl>
    <p><a class="button secondary" href="/admin/incidents/${incident.id}/stix" download>Download STIX 2.1 bundle</a></p>
    <section aria-labelledby="timeline"><h2 id="timeline">Timeline</h2>
      <p class="muted">Live: new entries appear as any instance writes them.</p>
      <ol class="timeline incident-timeline" data-live-source="/admin/incidents/${incident.id}/events"></ol>
      <div class="table-scroll" tabindex="0"><table><thead><tr><th scope="col">Step</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Ended</th><th scope="col">Result</th></tr></thead>
      <tbody>${incident.timeline.map((t) => html`<tr><td><code>${t.step}</code></td><td>${t.status}</td><td>${consoleTime(t.startedAt)}</td><td>${consoleTime(t.endedAt)}</td><td>${t.error ? html`<strong>${t.error}</strong> ` : ''}<code>${t.result ? short(t.result, 500) : ''}</code></td></tr>`)}</tbody></table></div>
      ${open && incident.runState !== 'complete' && incident.runState !== 'running' ? html`<form method="post" action="/admin/incidents/${incident.id}/resume" data-console-action>${csrf}<button type="submit">Resume the playbook</button></form>` : ''}
    </section>
    <section aria-labelledby="users"><h2 id="users">Contained users (${String(incident.users.length)})</h2>
      ${incident.users.length ? html`<ul>${incident.users.slice(0, SHOWN).map((u) => html`<li><a href="/admin/users/${encodeURIComponent(u.userId)}">${u.email}</a> <span class="muted">${u.sources.join(', ')}</span></li>`)}</ul>` : html`<p class="muted">None.</p>`}
    </section>
    <section aria-labelledby="hunt"><h2 id="hunt">Run a hunt</h2>
      <form method="post" action="/admin/incidents/${incident.id}/hunt" class="stack">${csrf}
        <label for="hunt-name">Hunt</label><select id="hunt-name" name="hunt">${HUNT_NAMES.map((name) => html`<option value="${name}">${name}</option>`)}</select>
        <label for="hunt-values">Addresses, domains or token names, one per line (from-ip, resolved-domain, token-use; empty: this incident’s)</label><textarea id="hunt-values" name="values" rows="2"></textarea>
        <label for="hunt-since">Window (e.g. 24h; empty: the configured default)</label><input id="hunt-since" name="since" type="text" maxlength="12">
        <button class="secondary" type="submit">Hunt</button>
      </form>
    </section>
    <section class="danger-zone" aria-labelledby="close"><h2 id="close">${open ? 'Close the incident' : 'Lift its blocks'}</h2>
      <form method="post" action="/admin/incidents/${incident.id}/close" data-console-action class="stack">${csrf}
        ${open ? html`<label for="close-note">Note</label><textarea id="close-note" name="note" rows="2" maxlength="2000"></textarea>` : ''}
        <label><input name="lift_blocks" type="checkbox" value="on"${open ? '' : html` checked`}> Lift this incident’s domain and address blocks${open ? ' (otherwise they stay)' : ''}</label>
        <button class="danger" type="submit">${open ? 'Close' : 'Lift the blocks'}</button>
      </form>
    </section>`;
}

/** One incident: its facts, live timeline, contained users, hunts with evidence, STIX, resume and close. */
export function registerIncidentDetail(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/incidents/:id', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const incident = await ctx.deps.incidents.show(incidentIdOf(request));
    const view = ctx.view(request, reply, session, 'incidents', `Incident: ${incident.title}`);
    return reply.type('text/html; charset=utf-8').send(consolePage(view, detailBody(incident, view.csrfToken)));
  });

  scope.get('/incidents/:id/stix', async (request, reply) => {
    await ctx.gate.read(request);
    const incident = await ctx.deps.incidents.show(incidentIdOf(request));
    // The export step's bundle when it ran; before that, the same bundle built from the indicators.
    const bundle = incident.stix ?? buildStixBundle({ incidentId: incident.id, title: incident.title, organisation: ctx.deps.settings().organisation, declaredAt: incident.declaredAt, indicators: incident.indicators });
    return reply
      .type('application/stix+json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${incident.id}.stix.json"`)
      .header('x-content-type-options', 'nosniff')
      .send(JSON.stringify(bundle, null, 2));
  });

  registerConsoleAction(scope, ctx, 'incidents', '/incidents/:id/resume', 'incident.resume', async (request, session) => {
    const id = incidentIdOf(request);
    const { run } = await ctx.deps.incidents.resume(id, { actor: `admin:${session.userId}` });
    return { message: `The playbook is ${run.state}${run.failed.length ? ` (${run.failed.map((f) => f.step).join(', ')} failed)` : ''}.`, redirect: `/admin/incidents/${id}`, audit: { incident: id, playbook: run.state } };
  });

  registerConsoleAction(scope, ctx, 'incidents', '/incidents/:id/close', 'incident.close', async (request, session) => {
    const id = incidentIdOf(request);
    const note = formField(request, 'note', { optional: true, max: 2000 }).trim();
    const liftBlocks = formField(request, 'lift_blocks', { optional: true, max: 10 }) !== '';
    const closed = await ctx.deps.incidents.close(id, { actor: `admin:${session.userId}`, ...(note ? { note } : {}), liftBlocks });
    const { blocks } = closed;
    const what = blocks.lifted ? `its blocks are lifted (${blocks.domains.length} domains, ${blocks.ips.length} addresses)` : `its blocks stay in force (${blocks.domains.length} domains, ${blocks.ips.length} addresses)`;
    return { message: `Incident ${id} is closed; ${what}.`, redirect: `/admin/incidents/${id}`, audit: { incident: id, liftBlocks } };
  });

  registerConsolePagePost(scope, ctx, 'incidents', '/incidents/:id/hunt', 'incident.hunt', async (request) => {
    const id = incidentIdOf(request);
    const name = formField(request, 'hunt', { max: 40 });
    const since = formField(request, 'since', { optional: true, max: 12 }).trim();
    const listName = HUNT_LIST[name];
    const params: Record<string, unknown> = since ? { since } : {};
    if (listName) {
      const typed = [...new Set(formField(request, 'values', { optional: true, max: 100_000 }).split(/[\s,]+/).filter(Boolean))];
      params[listName] = typed.length ? typed : (await ctx.deps.incidents.show(id)).indicators[listName];
    }
    // Unknown hunts and bad parameters are refused by the capability (hunt_unknown, hunt_invalid_params).
    const result = await ctx.deps.incidents.hunt(name, params);
    return { title: `Hunt: ${result.hunt}`, body: () => huntBody(id, result), json: { result }, audit: { incident: id, hunt: result.hunt, users: result.users.length } };
  });
}
