import type { FastifyInstance } from 'fastify';
import { describePolicy, nonWebEngineApps, nonWebMethod, testPolicy, type PolicyTestResult, type PolicyTrace } from '../access/policy/index.js';
import type { GatehouseConfig, PolicyConfig } from '../config/index.js';
import { canonicalIp } from '../lib/ip/ip-matcher.js';
import { html, type SafeHtml } from '../portal/index.js';
import { recentDenials, type AppDenial, type AppKind } from './apps-query.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { parseConsoleTime } from './console-time-input.js';

/** Denials read per kind (newest first, through `audit_events_type_at`), and shown per app. */
const DENIALS_SCANNED = 300;
const DENIALS_PER_APP = 5;
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** What the tester offers for "signed in with": the session's AMR, as the portal writes it. */
const SIGN_INS: Record<string, { label: string; amr: string[] }> = {
  hwk: { label: 'hardware security key', amr: ['hwk', 'mfa'] },
  swk: { label: 'passkey', amr: ['swk', 'mfa'] },
  otp: { label: 'password and one-time code', amr: ['pwd', 'otp', 'mfa'] },
  pwd: { label: 'password only', amr: ['pwd'] },
};

interface ConsoleApp {
  kind: AppKind;
  name: string;
  /** Where it is reached: a web host and upstream, a tunnel's upstream; none for an SSH app. */
  where: string;
  policies: readonly PolicyConfig[];
}

function appsOf(config: GatehouseConfig): ConsoleApp[] {
  return [
    ...config.apps.map((a) => ({ kind: 'web' as const, name: a.name, where: `${a.host} → ${a.upstream}`, policies: a.policies })),
    ...config.ssh.apps.map((a) => ({ kind: 'ssh' as const, name: a.name, where: 'SSH certificates (gatehouse ssh --app)', policies: a.policies })),
    ...config.tcp.apps.map((a) => ({ kind: 'tcp' as const, name: a.name, where: `tunnel to ${a.upstream}`, policies: a.policies })),
  ];
}

/** `ssh:prod`, `tcp:db`, `web:wiki`, or a bare name (a web app first: names are unique per kind only). */
function findApp(apps: readonly ConsoleApp[], value: string): ConsoleApp | undefined {
  const match = /^(web|ssh|tcp):(.+)$/.exec(value);
  if (match) return apps.find((a) => a.kind === match[1] && a.name === match[2]);
  return apps.find((a) => a.kind === 'web' && a.name === value) ?? apps.find((a) => a.name === value);
}

const ACTION_CLASS: Record<string, string> = { allow: 'badge ok', block: 'badge danger', bypass: 'badge warn' };

/**
 * Apps and policies: every configured app (web, `ssh.apps`, `tcp.apps`) with its policies in words and
 * its recent denials, and a policy tester that runs the proxy's own engine (`testPolicy`, the one
 * `gatehouse policy test` uses) on a described request. Reads only: the tester is a GET form.
 */
export function registerAppsPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/apps', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const apps = appsOf(ctx.deps.config());
    const denials = await recentDenials(ctx.deps.db, DENIALS_SCANNED, DENIALS_PER_APP);
    const view = ctx.view(request, reply, session, 'apps', 'Apps and policies');
    const body = html`${testerForm(apps, {})}
      ${apps.length === 0 ? html`<p class="muted">No app is configured (<code>apps</code>, <code>ssh.apps</code>, <code>tcp.apps</code>).</p>` : apps.map((app) => appSection(app, denials.get(`${app.kind}:${app.name}`) ?? []))}`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });

  scope.get('/apps/test', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const query = request.query as Record<string, unknown>;
    const field = (name: string, max = 300) => (typeof query[name] === 'string' ? (query[name] as string).trim().slice(0, max) : '');
    const input = { app: field('app', 140), user: field('user', 320), ip: field('ip', 64), method: field('method', 16), path: field('path', 2000), at: field('at', 40), signin: field('signin', 8), age: field('age', 8) };
    const config = ctx.deps.config();
    const apps = appsOf(config);
    const view = ctx.view(request, reply, session, 'apps', 'Policy tester');
    const refuse = (message: string) =>
      reply.code(400).type('text/html; charset=utf-8').send(consolePage(view, html`<div class="notice error" role="alert">${message}</div>${testerForm(apps, input)}`));

    const app = findApp(apps, input.app);
    if (!app) return refuse(input.app ? `There is no app named "${input.app}".` : 'Choose an app to test.');
    const ip = canonicalIp(input.ip || '127.0.0.1');
    if (ip === undefined) return refuse(`"${input.ip}" is not an IPv4 or IPv6 address.`);
    const method = app.kind === 'web' ? (input.method || 'GET').toUpperCase() : nonWebMethod(app.kind);
    if (app.kind === 'web' && !HTTP_METHODS.includes(method)) return refuse(`"${input.method}" is not an HTTP method (${HTTP_METHODS.join(', ')}).`);
    const path = app.kind === 'web' ? input.path || '/' : '/';
    if (!path.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(path)) return refuse(`"${path}" is not a request path (it starts with / and has no spaces).`);
    const now = input.at ? parseConsoleTime(input.at) : ctx.deps.clock.now();
    if (now === undefined) return refuse(`"${input.at}" is not a time: write it as 2026-01-31T09:30 (UTC) or 2026-01-31T09:30:00+01:00.`);
    const signIn = SIGN_INS[input.signin || 'hwk'];
    if (!signIn) return refuse(`"${input.signin}" is not a sign-in method (${Object.keys(SIGN_INS).join(', ')}).`);
    const age = input.age ? Number(input.age) : 0;
    if (!Number.isInteger(age) || age < 0 || age > 525_600) return refuse(`"${input.age}" is not a number of minutes (0 to 525600).`);
    let user: { id: string; email: string; groups: readonly string[]; status: 'active' | 'disabled' } | undefined;
    if (input.user) {
      user = await ctx.deps.identity.users.findByEmail(input.user.toLowerCase());
      if (!user) return refuse(`There is no user "${input.user}".`);
    }

    const engineApps = app.kind === 'web' ? config.apps : nonWebEngineApps(app.kind, app.kind === 'ssh' ? config.ssh.apps : config.tcp.apps);
    const result = testPolicy(
      { apps: engineApps, access: config.access, isIpBlocked: ctx.deps.ipBlocks.isBlocked },
      { app: app.name, ...(user ? { user } : {}), amr: signIn.amr, authAgeMinutes: age, ip, method, path, now },
    );
    if (!result) return refuse(`There is no app named "${input.app}".`);
    // The portal refuses a disabled user before any policy: the decision alone would mislead.
    const note = user?.status === 'disabled' ? html`<div class="notice warn" role="status">${user.email} is disabled: they cannot sign in, so no policy is reached. The decision below is what the policies alone would say.</div>` : html``;
    const body = html`${testerForm(apps, input)}${note}${decisionSection(app, user?.email, ip, method, path, now, result)}`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });
}

function appSection(app: ConsoleApp, denials: readonly AppDenial[]): SafeHtml {
  const id = `app-${app.kind}-${app.name}`;
  return html`<section class="console-app" aria-labelledby="${id}">
    <h2 id="${id}">${app.name} <span class="badge">${app.kind}</span></h2>
    <p class="muted">${app.where}</p>
    <ol class="policy-list">${app.policies.map(
      (policy, i) => html`<li><span class="${ACTION_CLASS[policy.action] ?? 'badge'}">${policy.action}</span> ${describePolicy(policy)}. <span class="muted">(${policy.name ?? `policies[${i}]`})</span></li>`,
    )}</ol>
    <p class="muted">Policies are read in order; the first that applies decides. Nothing applies: denied.</p>
    <h3>Recent denials</h3>
    ${denials.length === 0
      ? html`<p class="muted">None among the latest ${DENIALS_SCANNED} of this kind.</p>`
      : html`<div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">When</th><th scope="col">User</th><th scope="col">Address</th><th scope="col">Code</th><th scope="col">Why</th></tr></thead>
        <tbody>${denials.map((d) => html`<tr><td>${consoleTime(d.at)}</td><td>${d.email ?? html`<span class="muted">anonymous</span>`}</td><td><code>${d.ip ?? ''}</code></td><td><code>${d.code ?? ''}</code></td><td>${d.reason}</td></tr>`)}</tbody>
      </table></div>`}
    <p><a href="/admin/audit?type=${encodeURIComponent(app.kind === 'web' ? 'access.denied' : app.kind === 'ssh' ? 'ssh.certificate_refused' : 'tunnel.refused')}&amp;outcome=failure">All denials of this kind in the audit log</a></p>
  </section>`;
}

function testerForm(apps: readonly ConsoleApp[], input: Partial<Record<'app' | 'user' | 'ip' | 'method' | 'path' | 'at' | 'signin' | 'age', string>>): SafeHtml {
  const chosen = findApp(apps, input.app ?? '');
  return html`<form class="filters policy-tester" method="get" action="/admin/apps/test">
    <h2>Policy tester</h2>
    <p class="muted">Describes a request and shows what the access proxy would decide, with the engine that decides real requests. Nothing is changed or sent.</p>
    <div class="grid">
      <label>App <select name="app">${apps.map((a) => {
        const value = `${a.kind}:${a.name}`;
        return a === chosen ? html`<option value="${value}" selected>${a.name} (${a.kind})</option>` : html`<option value="${value}">${a.name} (${a.kind})</option>`;
      })}</select></label>
      <label>User email <input name="user" type="email" value="${input.user ?? ''}" maxlength="320" placeholder="empty: not signed in"></label>
      <label>Signed in with <select name="signin">${Object.entries(SIGN_INS).map(([key, s]) => (key === (input.signin || 'hwk') ? html`<option value="${key}" selected>${s.label}</option>` : html`<option value="${key}">${s.label}</option>`))}</select></label>
      <label>Minutes since the key proof <input name="age" type="number" min="0" max="525600" value="${input.age || '0'}"></label>
      <label>Address <input name="ip" type="text" value="${input.ip ?? ''}" maxlength="64" placeholder="127.0.0.1"></label>
      <label>Method (web apps) <input name="method" type="text" value="${input.method ?? ''}" maxlength="16" placeholder="GET"></label>
      <label>Path (web apps) <input name="path" type="text" value="${input.path ?? ''}" maxlength="2000" placeholder="/"></label>
      <label>Time (UTC unless an offset is given) <input name="at" type="text" value="${input.at ?? ''}" maxlength="40" placeholder="now, or 2026-01-31T09:30"></label>
    </div>
    <button class="secondary" type="submit">Test</button>
  </form>`;
}

const TRACE_WORDS: Record<PolicyTrace['verdict'], string> = {
  decided: 'decided',
  not_reached: 'not reached: an earlier policy decided',
  applies: 'applies too',
  needs_step_up: 'would apply after a fresh touch of the key',
  needs_sign_in: 'would apply to a signed-in user',
  does_not_apply: 'does not apply',
};

const OUTCOME_WORDS: Record<string, string> = { allow: 'Allowed', deny: 'Denied', step_up: 'Step-up needed', sign_in: 'Sign-in needed', bypass: 'Open without sign-in' };

function decisionSection(app: ConsoleApp, email: string | undefined, ip: string, method: string, path: string, now: number, result: PolicyTestResult): SafeHtml {
  const { decision } = result;
  return html`<section class="policy-decision" aria-labelledby="decision">
    <h2 id="decision">${OUTCOME_WORDS[decision.outcome] ?? decision.outcome}${decision.policy ? html` by policy <code>${decision.policy}</code>` : ''}</h2>
    <p>${email ?? 'A visitor not signed in'}${email ? ` signed in with ${result.amr.join(', ')}` : ''}, from <code>${ip}</code>, ${method} <code>${path}</code> on ${app.name} (${app.kind}) at ${consoleTime(now)}.</p>
    <p>What they would read: <em>${result.explanation}</em></p>
    <h3>The engine’s reasons</h3>
    <ul class="reasons">${decision.reasons.map((r) => html`<li><code>${r}</code></li>`)}</ul>
    ${result.trace.length > 0
      ? html`<h3>Each policy, in order</h3>
      <ol class="policy-trace">${result.trace.map(
        (t) => html`<li class="${t.verdict}"><strong>${t.policy}</strong> (${t.action}): ${TRACE_WORDS[t.verdict]}
          ${t.reasons.length > 0 ? html`<ul>${t.reasons.map((r) => html`<li><code>${r}</code></li>`)}</ul>` : ''}</li>`,
      )}</ol>`
      : html`<p class="muted">A global rule decided before any policy was read.</p>`}
  </section>`;
}
