import type { FastifyInstance, FastifyReply } from 'fastify';
import { AUDIT_EVENT_TYPES, readAuditHead, verifyAuditChain, type AuditVerification } from '../audit/index.js';
import { GatehouseError } from '../lib/errors.js';
import { canonicalIp } from '../lib/ip/ip-matcher.js';
import { html, type SafeHtml } from '../portal/index.js';
import { auditTypeRecorded, listAuditEvents, userIdOfEmail, type AuditFilter, type AuditRow } from './audit-query.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime, type ConsoleView } from './console-layout.js';
import { parseConsoleTime } from './console-time-input.js';

const PAGE_SIZE = 50;
const OUTCOMES = ['success', 'failure', 'info'] as const;
/**
 * One chain verification per instance at a time, and at most one a minute: a walk of 200,000 events
 * reads the whole table, so a read-only admin (or a stolen console cookie) reloading the page must
 * not turn it into a way to load the server. Within the minute the page shows the last result.
 */
export const VERIFY_INTERVAL_MS = 60_000;
const VERIFY_PAGE_SIZE = 1000;

const ANCHOR_NOTE =
  'Verification proves the log is internally consistent. Someone able to write the database could rebuild the whole chain: keep the head below somewhere Gatehouse cannot write, and check against it with gatehouse audit verify --anchor SEQ:HASH.';

type Query = Record<string, unknown>;

const bad = (message: string) => new GatehouseError('invalid_input', { status: 400, publicMessage: message });

/** The filters from the query string, each checked: a bad one names itself (400), never a crash. */
async function filterOf(ctx: ConsoleContext, query: Query): Promise<{ filter: AuditFilter; form: Record<string, string> }> {
  const text = (name: string, max: number) => {
    const value = query[name];
    if (value === undefined || value === '') return '';
    if (typeof value !== 'string' || value.length > max) throw bad(`The filter "${name}" is not valid (at most ${max} characters).`);
    return value.trim();
  };
  const form = { type: text('type', 100), outcome: text('outcome', 10), user: text('user', 320), ip: text('ip', 64), code: text('code', 100), since: text('since', 40), until: text('until', 40), before: text('before', 20) };
  const filter: AuditFilter = { limit: PAGE_SIZE };
  if (form.type) {
    // A mistyped type would show nothing, which reads as "it never happened": refuse it instead.
    if (!AUDIT_EVENT_TYPES.includes(form.type) && !(await auditTypeRecorded(ctx.deps.db, form.type))) throw bad(`"${form.type}" is not an audit event type.`);
    filter.type = form.type;
  }
  if (form.outcome) {
    if (!(OUTCOMES as readonly string[]).includes(form.outcome)) throw bad(`"${form.outcome}" is not an outcome (${OUTCOMES.join(', ')}).`);
    filter.outcome = form.outcome as AuditFilter['outcome'];
  }
  if (form.user) {
    const userId = await userIdOfEmail(ctx.deps.db, form.user);
    if (userId === undefined) throw bad(`There is no user "${form.user}".`);
    filter.userId = userId;
  }
  if (form.ip) {
    const ip = canonicalIp(form.ip);
    if (ip === undefined) throw bad(`"${form.ip}" is not an IPv4 or IPv6 address.`);
    filter.ip = ip;
  }
  if (form.code) {
    if (!/^[a-z0-9_.:-]+$/i.test(form.code)) throw bad(`"${form.code}" is not an error code (letters, digits, _ . : -).`);
    filter.code = form.code;
  }
  for (const bound of ['since', 'until'] as const) {
    if (!form[bound]) continue;
    const at = parseConsoleTime(form[bound]);
    if (at === undefined) throw bad(`"${form[bound]}" is not a time: write it as 2026-01-31 or 2026-01-31T09:30 (UTC unless an offset is given).`);
    filter[bound] = at;
  }
  if (form.before) {
    if (!/^\d{1,15}$/.test(form.before)) throw bad(`"${form.before}" is not an event number.`);
    filter.before = Number(form.before);
  }
  return { filter, form };
}

export function registerAuditPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  let running: Promise<AuditVerification> | undefined;
  let progress = 0;
  let last: { result: AuditVerification; at: number } | undefined;

  /** The last result when it is fresh, the run in progress when there is one, else a new run. */
  async function verification(): Promise<{ result: AuditVerification; at: number; fresh: boolean }> {
    const now = ctx.deps.clock.now();
    if (last && now - last.at < VERIFY_INTERVAL_MS) return { ...last, fresh: false };
    if (!running) {
      progress = 0;
      // Small pages with a macrotask between them: the instance keeps serving while the log is walked.
      running = verifyAuditChain(ctx.deps.db, {
        pageSize: VERIFY_PAGE_SIZE,
        onPage: async (verified) => {
          progress = verified;
          await new Promise((resolve) => setImmediate(resolve));
        },
      }).finally(() => (running = undefined));
    }
    const result = await running;
    if (!last || last.result !== result) last = { result, at: ctx.deps.clock.now() };
    return { ...last, fresh: true };
  }

  scope.get('/audit', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const view = ctx.view(request, reply, session, 'audit', 'Audit');
    let parsed: Awaited<ReturnType<typeof filterOf>>;
    try {
      parsed = await filterOf(ctx, request.query as Query);
    } catch (error) {
      if (!(error instanceof GatehouseError) || error.status !== 400) throw error;
      return send(reply.code(400), view, html`<div class="notice error" role="alert">${error.publicMessage}</div>${filterForm({})}`);
    }
    const { events, next } = await listAuditEvents(ctx.deps.db, parsed.filter);
    const head = await readAuditHead(ctx.deps.db);
    const nextQuery = next === undefined ? undefined : new URLSearchParams({ ...Object.fromEntries(Object.entries(parsed.form).filter(([, v]) => v !== '')), before: String(next) }).toString();
    const body = html`${headSection(head, last, running ? progress : undefined)}
      ${filterForm(parsed.form)}
      <div class="table-scroll" tabindex="0"><table class="audit-events">
        <thead><tr><th scope="col">Seq</th><th scope="col">When</th><th scope="col">Type</th><th scope="col">Outcome</th><th scope="col">Code</th><th scope="col">User</th><th scope="col">Address</th><th scope="col">Detail</th></tr></thead>
        <tbody>${events.length ? events.map(eventRow) : html`<tr><td colspan="8" class="muted">No event matches.</td></tr>`}</tbody>
      </table></div>
      <nav class="pager" aria-label="Pages">${parsed.form.before ? html`<a href="/admin/audit?${new URLSearchParams(Object.entries(parsed.form).filter(([k, v]) => v !== '' && k !== 'before')).toString()}">Newest</a>` : ''}
        ${nextQuery ? html`<a href="/admin/audit?${nextQuery}">Older events</a>` : html`<span class="muted">No older event.</span>`}</nav>`;
    return send(reply, view, body);
  });

  scope.get('/audit/verify', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const view = ctx.view(request, reply, session, 'audit', 'Audit chain verification');
    const { result, at, fresh } = await verification();
    const body = html`${verificationResult(result)}
      <p class="muted">${fresh ? 'Verified just now' : 'Last verified'} at ${consoleTime(at)}${fresh ? '' : html`; a new verification can run after ${consoleTime(at + VERIFY_INTERVAL_MS)} (one a minute: it reads the whole log)`}.</p>
      <p class="muted">${ANCHOR_NOTE}</p>
      <p><a class="button secondary" href="/admin/audit">Back to the audit log</a></p>`;
    return send(reply, view, body);
  });
}

function send(reply: FastifyReply, view: ConsoleView, body: SafeHtml): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
}

function verificationResult(result: AuditVerification): SafeHtml {
  const from = result.start.from === 'genesis' ? 'the first event' : `the signed checkpoint at seq ${result.start.seq} (key ${result.start.keyFingerprint})`;
  if (!result.ok && result.problem) {
    return html`<div class="notice error" role="alert"><p><strong>The audit log failed verification.</strong> First bad ${result.problem.kind === 'bad_checkpoint' ? 'checkpoint' : 'event'}: seq <code>${result.problem.seq}</code> (${result.problem.kind.replace('_', ' ')}).</p>
      <p>${result.problem.message}</p><p>${result.events} event${result.events === 1 ? '' : 's'} from ${from} verified before it.</p></div>`;
  }
  return html`<div class="notice ok" role="status"><p><strong>The audit log verified:</strong> ${result.events} event${result.events === 1 ? '' : 's'} from ${from}, in ${(result.elapsedMs / 1000).toFixed(2)} s.</p>
    <p>Head <code>${result.last.seq}:${result.last.hash}</code></p></div>`;
}

function headSection(head: { seq: number; hash: string; at?: number; checkpointKey?: string }, last: { result: AuditVerification; at: number } | undefined, progress: number | undefined): SafeHtml {
  return html`<section class="audit-head" aria-labelledby="audit-head">
    <h2 id="audit-head">Head</h2>
    <p class="muted">Ship this to a system Gatehouse cannot write (a ticket, a SIEM, object lock); <code>gatehouse audit verify --anchor</code> and <code>--checkpoint-key</code> check against it.</p>
    <dl class="facts">
      <dt>Anchor</dt><dd><code class="anchor">${head.seq}:${head.hash}</code></dd>
      <dt>Newest event</dt><dd>${consoleTime(head.at)}</dd>
      <dt>Checkpoint key</dt><dd>${head.checkpointKey ? html`<code>${head.checkpointKey}</code>` : html`<span class="muted">none yet (made by the first start or prune with the key-encryption key)</span>`}</dd>
      <dt>Chain</dt><dd>${progress !== undefined ? html`verification running: ${progress} events checked so far · ` : ''}${last ? html`${last.result.ok ? 'verified' : html`<strong>failed</strong> at seq ${last.result.problem?.seq ?? '?'}`} at ${consoleTime(last.at)} · ` : ''}<a href="/admin/audit/verify">Verify the chain now</a></dd>
    </dl>
  </section>`;
}

function filterForm(form: Record<string, string>): SafeHtml {
  const chosen = form.type ?? '';
  const types = chosen && !AUDIT_EVENT_TYPES.includes(chosen) ? [chosen, ...AUDIT_EVENT_TYPES] : AUDIT_EVENT_TYPES;
  return html`<form class="filters audit-filters" method="get" action="/admin/audit" role="search">
    <div class="grid">
      <label>Type <select name="type"><option value="">any</option>${types.map((t) => (t === chosen ? html`<option value="${t}" selected>${t}</option>` : html`<option value="${t}">${t}</option>`))}</select></label>
      <label>Outcome <select name="outcome"><option value="">any</option>${OUTCOMES.map((o) => (o === form.outcome ? html`<option value="${o}" selected>${o}</option>` : html`<option value="${o}">${o}</option>`))}</select></label>
      <label>User email <input name="user" type="text" value="${form.user ?? ''}" maxlength="320"></label>
      <label>Address <input name="ip" type="text" value="${form.ip ?? ''}" maxlength="64"></label>
      <label>Code <input name="code" type="text" value="${form.code ?? ''}" maxlength="100"></label>
      <label>From (UTC) <input name="since" type="text" value="${form.since ?? ''}" maxlength="40" placeholder="2026-01-31T09:00"></label>
      <label>Until (UTC) <input name="until" type="text" value="${form.until ?? ''}" maxlength="40" placeholder="2026-01-31T18:00"></label>
    </div>
    <button class="secondary" type="submit">Search</button>
  </form>`;
}

function prettyDetail(detail: string): string {
  try {
    return JSON.stringify(JSON.parse(detail), null, 2);
  } catch {
    return detail;
  }
}

function eventRow(event: AuditRow): SafeHtml {
  // Detail is recorded text (paths, reasons, lure domains): attacker-influenced, rendered escaped only.
  return html`<tr>
    <td><code>${event.seq}</code></td>
    <td>${consoleTime(event.at)}</td>
    <td><code>${event.type}</code></td>
    <td>${event.outcome}</td>
    <td>${event.code ? html`<code>${event.code}</code>` : ''}</td>
    <td>${event.email ?? event.actor ?? ''}</td>
    <td>${event.ip ? html`<code>${event.ip}</code>` : ''}</td>
    <td><details><summary>Detail</summary><pre class="audit-detail">${prettyDetail(event.detail).slice(0, 20_000)}</pre><p class="muted">actor ${event.actor ?? '—'} · hash <code>${event.hash.slice(0, 16)}…</code></p></details></td>
  </tr>`;
}
