import type { FastifyInstance } from 'fastify';
import { normaliseDomainName } from '../dns/index.js';
import type { DomainVerdict } from '../intel/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import { parseCidr } from '../lib/ip/ip-address.js';
import { compileIpMatcher } from '../lib/ip/ip-matcher.js';
import { html, type SafeHtml } from '../portal/index.js';
import { formField, registerConsoleAction } from './console-action.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { parseQueryLogSearch, type QueryLogSearch } from './dns-params.js';
import { listIpBlocks, QUERY_VERDICTS, searchQueryLog, type QueryLogRow } from './dns-query.js';

const LIST_LIMIT = 500;
const MAX_NAMES = 100;

/** Names from a text box: one per line, or separated by spaces or commas. */
function namesOf(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

function searchLink(form: QueryLogSearch['form'], before: { at: number; id: number }): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) if (value !== '' && !(key === 'match' && value === 'exact')) params.set(key, String(value));
  params.set('before', `${before.at}.${before.id}`);
  return `/admin/dns?${params.toString()}`;
}

function verdictSection(name: string, outcome: { verdict: DomainVerdict } | { error: string }): SafeHtml {
  if ('error' in outcome) return html`<div class="notice error" role="alert">${name}: ${outcome.error}</div>`;
  const { verdict } = outcome;
  return html`<div class="dns-verdict">
    <p><span class="verdict verdict-${verdict.action}">${verdict.action.toUpperCase()}</span> <code>${verdict.name}</code> ${verdict.humanReason}</p>
    ${verdict.reasons.length ? html`<ul>${verdict.reasons.map((r) => html`<li><code>${r.code}</code> ${r.detail}</li>`)}</ul>` : html`<p class="muted">No rule flagged this name.</p>`}
    <p class="muted">Age: ${verdict.age.state}${verdict.registeredAt ? `, registered ${verdict.registeredAt}` : ''}${verdict.lookalike?.brand ? `; looks like ${verdict.lookalike.brand}` : ''}</p>
  </div>`;
}

/**
 * DNS: the query log (search by name, client, user, verdict and time, newest first, by keyset pages),
 * the lists in force (`gatehouse dns lists`), runtime domain and IP blocks with who set them and why,
 * `domain check` with its reasons, and blocking and unblocking through the same runtime blocks as the
 * CLI and incidents: a feed row reaches every instance. Never blocks the portal's own host or a
 * protected or never-block domain.
 */
export function registerDnsPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/dns', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const query = request.query as Record<string, unknown>;
    const search = parseQueryLogSearch(query);
    const { deps } = ctx;
    let userMissing = false;
    let userId: string | undefined;
    if (search.form.user) {
      userId = (await deps.identity.users.findByEmail(search.form.user))?.id;
      userMissing = userId === undefined;
    }
    const [log, domainBlocks, ipBlocks, strict] = await Promise.all([
      userMissing ? { rows: [] as QueryLogRow[], next: undefined } : searchQueryLog(deps.db, { ...search.filter, ...(userId ? { userId } : {}) }),
      deps.dns.domainBlocks.list(),
      listIpBlocks(deps.db, deps.clock.now(), LIST_LIMIT),
      deps.dns.domainBlocks.strictNewDomainsState(),
    ]);
    let checked: SafeHtml | undefined;
    const check = typeof query.check === 'string' ? query.check.trim().slice(0, 253) : '';
    if (check) {
      // The same classifier the gateway and `gatehouse domain check` use (lookalikes, registration age).
      const outcome = await deps.dns.intel.classifier.classify(check).then(
        (verdict) => ({ verdict }),
        (error: unknown) => ({ error: isGatehouseError(error) ? error.publicMessage : 'This is not a name that can be checked.' }),
      );
      checked = verdictSection(check, outcome);
    }
    const view = ctx.view(request, reply, session, 'dns', 'DNS');
    const config = deps.dns.config;
    const state = deps.dns.gateway?.listState();
    const sources = config.blocklists.map((list) => {
      const loaded = state?.sources.find((s) => s.name === list.name);
      return html`<tr><td>${list.name}</td><td>${list.format}</td><td><code>${list.path ?? list.url ?? ''}</code></td>
        <td>${loaded ? String(loaded.entries) : html`<span class="muted">not loaded</span>`}</td><td>${consoleTime(loaded?.loadedAt)}</td><td>${loaded?.lastError ?? ''}</td></tr>`;
    });
    const { form } = search;
    const rows = log.rows.map(
      (row) => html`<tr><td>${consoleTime(row.at)}</td><td><code>${row.client}</code></td><td>${row.email ?? (row.userId ? row.userId : html`<span class="muted">—</span>`)}</td>
        <td><code>${row.name}</code></td><td>${row.type}</td><td><span class="verdict verdict-${row.verdict}">${row.verdict}</span></td><td>${row.reason}</td><td>${row.protocol}</td></tr>`,
    );
    const csrf = html`<input type="hidden" name="_csrf" value="${view.csrfToken}">`;
    const body = html`
      <section aria-labelledby="log"><h2 id="log">Query log</h2>
      <form class="filters" method="get" action="/admin/dns" role="search">
        <div class="row">
          <label>Name <input name="name" type="text" value="${form.name}" maxlength="253"></label>
          <label>Match <select name="match"><option value="exact"${form.match === 'exact' ? html` selected` : ''}>exact</option><option value="prefix"${form.match === 'prefix' ? html` selected` : ''}>starts with</option></select></label>
          <label>Client address <input name="client" type="text" value="${form.client}" maxlength="64"></label>
          <label>User email <input name="user" type="text" value="${form.user}" maxlength="320"></label>
          <label>Verdict <select name="verdict"><option value="">any</option>${QUERY_VERDICTS.map((v) => html`<option value="${v}"${form.verdict === v ? html` selected` : ''}>${v}</option>`)}</select></label>
          <label>From (UTC) <input name="from" type="datetime-local" value="${form.from}"></label>
          <label>To (UTC) <input name="to" type="datetime-local" value="${form.to}"></label>
          <button class="secondary" type="submit">Search</button>
        </div>
      </form>
      ${userMissing ? html`<div class="notice warn" role="status">No user has the email ${form.user}.</div>` : ''}
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Time</th><th scope="col">Client</th><th scope="col">User</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Verdict</th><th scope="col">Reason</th><th scope="col">Via</th></tr></thead>
        <tbody>${rows.length ? rows : html`<tr><td colspan="8" class="muted">No query matches.</td></tr>`}</tbody>
      </table></div>
      ${log.next ? html`<p><a class="button secondary" href="${searchLink(form, log.next)}">Older queries</a></p>` : ''}
      </section>

      <section aria-labelledby="check"><h2 id="check">Check a domain</h2>
      <form method="get" action="/admin/dns" class="row">
        <label for="check-name">Name</label><input id="check-name" name="check" type="text" value="${check}" maxlength="253" required>
        <button class="secondary" type="submit">Check</button>
      </form>
      ${checked ?? ''}
      </section>

      <section aria-labelledby="lists"><h2 id="lists">Lists in force</h2>
      <p>DNS gateway ${config.enabled ? 'enabled' : 'disabled'}; allowlist entries: ${String(config.allowlist.length)}.
        Strict new-domain isolation: <strong>${strict.on ? 'on' : 'off'}</strong>${strict.since !== undefined ? html` since ${consoleTime(strict.since)}` : ''}${strict.incident ? ` (turned on by incident ${strict.incident})` : strict.by ? ` (by ${strict.by})` : ''}.</p>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Blocklist</th><th scope="col">Format</th><th scope="col">Source</th><th scope="col">Entries</th><th scope="col">Loaded</th><th scope="col">Last error</th></tr></thead>
        <tbody>${sources.length ? sources : html`<tr><td colspan="6" class="muted">No blocklist is configured.</td></tr>`}</tbody>
      </table></div>
      </section>

      <section aria-labelledby="domain-blocks"><h2 id="domain-blocks">Blocked domains</h2>
      <p class="muted">Blocked on every instance with their subdomains (incidents, reports, <code>gatehouse domain block</code>, this page).</p>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Reason</th><th scope="col">By</th><th scope="col">Since</th><th scope="col">Unblock</th></tr></thead>
        <tbody>${domainBlocks.length
          ? domainBlocks.slice(0, LIST_LIMIT).map(
              (b) => html`<tr><td><code>${b.name}</code></td><td>${b.reason}</td><td>${b.createdBy ?? ''}</td><td>${consoleTime(b.createdAt)}</td>
              <td><form method="post" action="/admin/dns/unblock-domain" data-console-action>${csrf}<input type="hidden" name="name" value="${b.name}"><button class="danger small" type="submit">Unblock</button></form></td></tr>`,
            )
          : html`<tr><td colspan="5" class="muted">No runtime domain block.</td></tr>`}</tbody>
      </table></div>
      ${domainBlocks.length > LIST_LIMIT ? html`<p class="muted">${String(domainBlocks.length)} blocks; the first ${String(LIST_LIMIT)} by name shown (<code>gatehouse dns lists</code> shows all).</p>` : ''}
      <form method="post" action="/admin/dns/block-domain" data-console-action class="stack">${csrf}
        <label for="block-names">Block names (one per line; subdomains included)</label><textarea id="block-names" name="names" rows="2" maxlength="10000" required></textarea>
        <label for="block-reason">Reason (kept in the audit log; users see a generic text)</label><input id="block-reason" name="reason" type="text" maxlength="500" required>
        <button class="danger" type="submit">Block on every instance</button>
      </form>
      </section>

      <section aria-labelledby="ip-blocks"><h2 id="ip-blocks">Blocked addresses</h2>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Address</th><th scope="col">Reason</th><th scope="col">By</th><th scope="col">Since</th><th scope="col">Until</th><th scope="col">Unblock</th></tr></thead>
        <tbody>${ipBlocks.length
          ? ipBlocks.map(
              (b) => html`<tr><td><code>${b.cidr}</code></td><td>${b.reason}</td><td>${b.createdBy ?? ''}</td><td>${consoleTime(b.createdAt)}</td><td>${b.expiresAt === null ? 'lifted by hand' : consoleTime(b.expiresAt)}</td>
              <td><form method="post" action="/admin/dns/unblock-ip" data-console-action>${csrf}<input type="hidden" name="cidr" value="${b.cidr}"><button class="danger small" type="submit">Unblock</button></form></td></tr>`,
            )
          : html`<tr><td colspan="6" class="muted">No blocked address.</td></tr>`}</tbody>
      </table></div>
      <form method="post" action="/admin/dns/block-ip" data-console-action class="stack">${csrf}
        <label for="block-cidr">Block an address or range (refused at every app and the portal)</label><input id="block-cidr" name="cidr" type="text" maxlength="64" required>
        <label for="block-ip-reason">Reason</label><input id="block-ip-reason" name="reason" type="text" maxlength="500" required>
        <label for="block-hours">Lift after hours (empty: until lifted by hand)</label><input id="block-hours" name="hours" type="number" min="1" max="8760">
        <button class="danger" type="submit">Block on every instance</button>
      </form>
      </section>`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });

  const actorOf = (userId: string) => `admin:${userId}`;

  registerConsoleAction(scope, ctx, 'dns', '/dns/block-domain', 'dns.block_domains', async (request, session) => {
    const names = namesOf(formField(request, 'names', { max: 10_000 }));
    if (names.length === 0 || names.length > MAX_NAMES) throw new GatehouseError('invalid_input', { status: 400, publicMessage: `Give 1 to ${MAX_NAMES} names.` });
    const reason = formField(request, 'reason', { max: 500 }).trim();
    // Each name checked before anything is written (a bad one names itself: dns_invalid_domain).
    const normalised = names.map((name) => normaliseDomainName(name));
    // The portal's own host, protected and never-block domains are refused (and audited) by DomainBlocks.
    const added = await ctx.deps.dns.domainBlocks.block(normalised, { reason, actor: actorOf(session.userId), userId: session.userId, ip: ctx.deps.clientIp(request) });
    return { message: `${added.length} name${added.length === 1 ? '' : 's'} newly blocked on every instance${added.length < normalised.length ? ` (${normalised.length - added.length} already were)` : ''}.`, redirect: '/admin/dns#domain-blocks', audit: { names: normalised, added } };
  });

  registerConsoleAction(scope, ctx, 'dns', '/dns/unblock-domain', 'dns.unblock_domains', async (request, session) => {
    const names = namesOf(formField(request, 'name', { max: 10_000 })).map((name) => normaliseDomainName(name));
    if (names.length === 0 || names.length > MAX_NAMES) throw new GatehouseError('invalid_input', { status: 400, publicMessage: `Give 1 to ${MAX_NAMES} names.` });
    const removed = await ctx.deps.dns.domainBlocks.unblock(names, actorOf(session.userId));
    return { message: removed ? `${removed} block${removed === 1 ? '' : 's'} lifted on every instance.` : 'That name was not blocked.', redirect: '/admin/dns#domain-blocks', audit: { names, removed } };
  });

  registerConsoleAction(scope, ctx, 'dns', '/dns/block-ip', 'ip.block', async (request, session) => {
    const cidr = formField(request, 'cidr', { max: 64 }).trim();
    const reason = formField(request, 'reason', { max: 500 }).trim();
    const hoursText = formField(request, 'hours', { optional: true, max: 5 });
    const hours = hoursText === '' ? undefined : Number(hoursText);
    if (hours !== undefined && (!Number.isInteger(hours) || hours < 1 || hours > 8760)) throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'Hours must be a whole number from 1 to 8760.' });
    const expiresAt = hours === undefined ? undefined : ctx.deps.clock.now() + hours * 3_600_000;
    // Blocking your own address would lock this console out on every instance, with no way back here.
    if (typeof parseCidr(cidr) !== 'string' && compileIpMatcher([cidr])(ctx.deps.clientIp(request))) {
      throw new GatehouseError('ip_block_own_address', { status: 409, publicMessage: 'That address or range contains your own address: it was not blocked.' });
    }
    // Throws InputError naming a malformed address or range before anything is written.
    await ctx.deps.ipBlocks.block(cidr, { reason, actor: actorOf(session.userId), userId: session.userId, ip: ctx.deps.clientIp(request), ...(expiresAt !== undefined ? { expiresAt } : {}) });
    return { message: `${cidr} is blocked on every instance${expiresAt === undefined ? '' : ` for ${hours} hour${hours === 1 ? '' : 's'}`}.`, redirect: '/admin/dns#ip-blocks', audit: { cidr, hours: hours ?? null } };
  });

  registerConsoleAction(scope, ctx, 'dns', '/dns/unblock-ip', 'ip.unblock', async (request, session) => {
    const cidr = formField(request, 'cidr', { max: 64 }).trim();
    const removed = await ctx.deps.ipBlocks.unblock(cidr, actorOf(session.userId));
    return { message: removed ? `${cidr} is unblocked on every instance.` : `${cidr} was not blocked.`, redirect: '/admin/dns#ip-blocks', audit: { cidr, removed } };
  });
}
