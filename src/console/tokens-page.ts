import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../lib/errors.js';
import { html, type SafeHtml } from '../portal/index.js';
import { formField, registerConsoleAction } from './console-action.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { listCampaigns, listInventory, listTokens, type CampaignRow, type InventoryRow, type TokenRow } from './tokens-query.js';

const TOKENS_SHOWN = 200;
const INVENTORY_SHOWN = 200;
const CAMPAIGNS_SHOWN = 20;

/** A token's state in words: `expired` once past its expiry (it no longer works), as `tokens list` says. */
function statusOf(t: TokenRow, now: number): SafeHtml {
  const state =
    t.status === 'revoked'
      ? html`<span class="badge danger">Revoked</span>`
      : t.status === 'suspended'
        ? html`<span class="badge warn">Suspended</span>`
        : now >= t.expiresAt
          ? html`<span class="badge grey">Expired</span>`
          : html`<span class="badge ok">Active</span>`;
  return html`${state}${t.believedUnused ? html` <span class="badge warn">Believed unused</span>` : ''}${t.statusReason ? html`<span class="status-reason muted">${t.statusReason}</span>` : ''}`;
}

function tokenActions(t: TokenRow, csrf: string): SafeHtml {
  if (t.status === 'revoked') return html`<span class="muted">—</span>`;
  const name = html`<input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="name" value="${t.name}">`;
  const toggle =
    t.status === 'suspended'
      ? html`<form method="post" action="/admin/tokens/resume" data-console-action>${name}<button class="secondary small" type="submit">Resume</button></form>`
      : html`<form method="post" action="/admin/tokens/suspend" data-console-action>${name}<button class="secondary small" type="submit">Suspend</button></form>`;
  return html`<div class="row">${toggle}
    <form method="post" action="/admin/tokens/revoke" data-console-action>${name}
      <label class="visually-hidden" for="revoke-${t.name}">Type ${t.name} to revoke it</label>
      <input id="revoke-${t.name}" name="confirm" type="text" placeholder="type ${t.name}" autocomplete="off" required maxlength="100">
      <button class="danger small" type="submit">Revoke</button></form></div>`;
}

function tokenRow(t: TokenRow, now: number, csrf: string): SafeHtml {
  return html`<tr>
    <td><strong>${t.name}</strong><br><code class="muted">${t.clientId}</code>${t.description ? html`<br><span class="muted">${t.description}</span>` : ''}</td>
    <td>${t.owner}</td>
    <td>${t.apps.join(', ')}${t.tags.length ? html`<br><span class="muted">tags: ${t.tags.join(', ')}</span>` : ''}</td>
    <td>${consoleTime(t.createdAt)}<br><span class="muted">by ${t.createdBy}</span>${t.rotatedAt ? html`<br><span class="muted">rotated ${consoleTime(t.rotatedAt)}</span>` : ''}</td>
    <td>${consoleTime(t.expiresAt)}${t.previousValidUntil ? html`<br><span class="muted">old secret until ${consoleTime(t.previousValidUntil)}</span>` : ''}</td>
    <td>${t.lastUsedAt ? html`${consoleTime(t.lastUsedAt)}<br><span class="muted">${t.lastUsedApp ?? ''}${t.lastUsedIp ? html` from <code>${t.lastUsedIp}</code>` : ''}</span>` : html`<span class="muted">never</span>`}</td>
    <td>${statusOf(t, now)}</td>
    <td>${tokenActions(t, csrf)}</td></tr>`;
}

function inventoryRow(i: InventoryRow): SafeHtml {
  return html`<tr>
    <td>${i.name}${i.believedUnused ? html` <span class="badge warn">Believed unused</span>` : ''}</td>
    <td>${i.kind.replace('_', ' ')}</td><td>${i.system}</td><td>${i.owner}</td><td>${i.scope}</td>
    <td>${consoleTime(i.lastRotatedAt)}</td>
    <td>${consoleTime(i.lastUsedAt)}${i.lastUsedEvidence ? html`<br><span class="muted">${i.lastUsedEvidence}</span>` : ''}</td>
    <td>${i.rotator ?? html`<span class="muted">owner task</span>`}</td></tr>`;
}

function campaignRow(c: CampaignRow): SafeHtml {
  const done = c.byState.done ?? 0;
  const percent = c.total === 0 ? 100 : Math.floor((done / c.total) * 100);
  const states = (['pending', 'rotating', 'waiting', 'owner_task', 'failed'] as const).filter((s) => c.byState[s]).map((s) => `${c.byState[s]} ${s.replace('_', ' ')}`);
  return html`<tr>
    <td>${c.reason}${c.emergency ? html` <span class="badge danger">Emergency</span>` : ''}<br><code class="muted">${c.id}</code></td>
    <td>${c.status === 'open' ? html`<span class="badge warn">Open</span>` : html`<span class="badge ok">Closed</span>`}</td>
    <td><progress max="${c.total}" value="${done}" aria-label="Items done">${percent}%</progress> ${done} / ${c.total} done${states.length ? html`<br><span class="muted">${states.join(', ')}</span>` : ''}</td>
    <td>${consoleTime(c.startedAt)}<br><span class="muted">by ${c.startedBy}</span></td>
    <td>${consoleTime(c.closedAt)}</td></tr>`;
}

/**
 * Service tokens, the credential inventory and rotation campaigns: what exists, who answers for it,
 * when it was last used, and how far each campaign is. Tokens can be suspended, resumed and revoked
 * here (revocation typed by name); everything else is the CLI's (`tokens`, `inventory`, `campaign`).
 * Secrets and their digests are never read by this page.
 */
export function registerTokensPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/tokens', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const raw = (request.query as { q?: unknown }).q;
    if (raw !== undefined && (typeof raw !== 'string' || raw.length > 200)) {
      throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'The query parameter "q" must be text of at most 200 characters.' });
    }
    const q = raw ?? '';
    const now = ctx.deps.clock.now();
    const [{ tokens, total }, inventory, campaigns] = await Promise.all([
      listTokens(ctx.deps.db, { ...(q ? { q } : {}), limit: TOKENS_SHOWN }),
      listInventory(ctx.deps.db, INVENTORY_SHOWN),
      listCampaigns(ctx.deps.db, CAMPAIGNS_SHOWN),
    ]);
    const view = ctx.view(request, reply, session, 'tokens', 'Service tokens');
    const body = html`
      <section aria-labelledby="service-tokens"><h2 id="service-tokens">Service tokens</h2>
        <form class="filters" method="get" action="/admin/tokens" role="search">
          <label for="q">Name or owner</label>
          <div class="row"><input id="q" name="q" type="text" value="${q}" maxlength="200"><button class="secondary" type="submit">Search</button></div>
        </form>
        <p class="muted">${total} token${total === 1 ? '' : 's'}${q ? ' matching' : ''}${total > tokens.length ? `, the first ${tokens.length} by name shown` : ''}. Create and rotate with <code>gatehouse tokens</code>: a secret is shown once, there.</p>
        <div class="table-scroll" tabindex="0"><table>
          <thead><tr><th scope="col">Token</th><th scope="col">Owner</th><th scope="col">Apps</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last use</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
          <tbody>${tokens.length ? tokens.map((t) => tokenRow(t, now, view.csrfToken)) : html`<tr><td colspan="8" class="muted">No service token${q ? ' matches' : ''}.</td></tr>`}</tbody>
        </table></div>
      </section>
      <section aria-labelledby="inventory"><h2 id="inventory">Credential inventory</h2>
        <p class="muted">${inventory.active} credential${inventory.active === 1 ? '' : 's'} of outside systems${inventory.retired ? `, ${inventory.retired} retired` : ''}${inventory.active > inventory.items.length ? `, the first ${inventory.items.length} by name shown` : ''}. Kept with <code>gatehouse inventory</code>.</p>
        <div class="table-scroll" tabindex="0"><table>
          <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">System</th><th scope="col">Owner</th><th scope="col">Scope</th><th scope="col">Last rotated</th><th scope="col">Last used</th><th scope="col">Rotator</th></tr></thead>
          <tbody>${inventory.items.length ? inventory.items.map(inventoryRow) : html`<tr><td colspan="8" class="muted">The inventory is empty.</td></tr>`}</tbody>
        </table></div>
      </section>
      <section aria-labelledby="campaigns"><h2 id="campaigns">Rotation campaigns</h2>
        <p class="muted">The latest ${CAMPAIGNS_SHOWN}. Run, approve and close with <code>gatehouse campaign</code>; an item closes only on evidence.</p>
        <div class="table-scroll" tabindex="0"><table>
          <thead><tr><th scope="col">Reason</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Started</th><th scope="col">Closed</th></tr></thead>
          <tbody>${campaigns.length ? campaigns.map(campaignRow) : html`<tr><td colspan="5" class="muted">No campaign yet.</td></tr>`}</tbody>
        </table></div>
      </section>`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });

  const actor = (userId: string) => `admin:${userId}`;

  registerConsoleAction(scope, ctx, 'tokens', '/tokens/revoke', 'service_token.revoke', async (request, session) => {
    const name = formField(request, 'name', { max: 63 });
    // Typed, not clicked: a revocation is final and cuts off a machine on every instance at once.
    if (formField(request, 'confirm', { max: 100 }).trim() !== name) {
      throw new GatehouseError('confirmation_mismatch', { status: 400, publicMessage: `Type the token's name, ${name}, to revoke it.` });
    }
    const reason = formField(request, 'reason', { optional: true, max: 200 }) || 'revoked from the admin console';
    const token = await ctx.deps.serviceTokens.revoke(name, { actor: actor(session.userId), reason });
    return { message: `Service token ${token.name} is revoked on every instance.`, redirect: '/admin/tokens', audit: { token: token.name, owner: token.owner } };
  });

  registerConsoleAction(scope, ctx, 'tokens', '/tokens/suspend', 'service_token.suspend', async (request, session) => {
    const name = formField(request, 'name', { max: 63 });
    const reason = formField(request, 'reason', { optional: true, max: 200 }) || 'suspended from the admin console';
    const token = await ctx.deps.serviceTokens.suspend(name, { actor: actor(session.userId), reason });
    return { message: `Service token ${token.name} is suspended on every instance until resumed.`, redirect: '/admin/tokens', audit: { token: token.name, owner: token.owner } };
  });

  registerConsoleAction(scope, ctx, 'tokens', '/tokens/resume', 'service_token.resume', async (request, session) => {
    const name = formField(request, 'name', { max: 63 });
    const token = await ctx.deps.serviceTokens.resume(name, { actor: actor(session.userId) });
    return { message: `Service token ${token.name} works again.`, redirect: '/admin/tokens', audit: { token: token.name, owner: token.owner } };
  });
}

