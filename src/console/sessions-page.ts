import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../lib/errors.js';
import { describeUserAgent, html, signInMethodLabel } from '../portal/index.js';
import { formField, registerConsoleAction } from './console-action.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { listLiveSessions } from './sessions-query.js';

const PAGE_SIZE = 100;
/** Typed, not clicked: revoking everyone signs out the whole organisation, the admin included. */
export const REVOKE_ALL_CONFIRMATION = 'revoke all sessions';

/**
 * Sessions: the live list (user, method, address, apps, last use) and revocation of one session, of a
 * user's, or of everyone's. Revocation goes through the identity capability, which writes the change
 * feed: every instance refuses the session within its feed poll (the 2022 response killed sessions
 * by minute 37; here it is one click).
 */
export function registerSessionsPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/sessions', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const q = String((request.query as { q?: unknown }).q ?? '').slice(0, 200);
    const { sessions, total, more } = await listLiveSessions(ctx.deps.db, ctx.deps.clock.now(), { ...(q ? { q } : {}), limit: PAGE_SIZE });
    const view = ctx.view(request, reply, session, 'sessions', 'Sessions');
    const rows = sessions.map(
      (s) => html`<tr>
        <td><a href="/admin/users/${encodeURIComponent(s.userId)}">${s.email}</a></td>
        <td>${signInMethodLabel(s.amr)}</td>
        <td><code>${s.ip}</code></td>
        <td>${describeUserAgent(s.userAgent)}</td>
        <td>${s.apps.length ? s.apps.join(', ') : html`<span class="muted">portal only</span>`}</td>
        <td>${consoleTime(s.lastSeenAt)}</td>
        <td class="row">
          <form method="post" action="/admin/sessions/revoke" data-console-action><input type="hidden" name="_csrf" value="${view.csrfToken}"><input type="hidden" name="handle" value="${s.handle}"><button class="danger small" type="submit">Revoke</button></form>
          <form method="post" action="/admin/sessions/revoke-user" data-console-action><input type="hidden" name="_csrf" value="${view.csrfToken}"><input type="hidden" name="user_id" value="${s.userId}"><button class="danger small" type="submit">All of this user’s</button></form>
        </td></tr>`,
    );
    const body = html`
      <form class="filters" method="get" action="/admin/sessions" role="search">
        <label for="q">User email or address</label>
        <div class="row"><input id="q" name="q" type="text" value="${q}" maxlength="200"><button class="secondary" type="submit">Search</button></div>
      </form>
      <p class="muted">${more ? `More than ${total.toLocaleString('en-US')}` : total} live session${total === 1 && !more ? '' : 's'}${more || total > sessions.length ? `, the ${sessions.length} most recently used shown` : ''}.</p>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">User</th><th scope="col">Method</th><th scope="col">Address</th><th scope="col">Browser</th><th scope="col">Apps</th><th scope="col">Last use</th><th scope="col">Revoke</th></tr></thead>
        <tbody>${rows.length ? rows : html`<tr><td colspan="7" class="muted">No live session${q ? ' matches' : ''}.</td></tr>`}</tbody>
      </table></div>
      <section class="danger-zone" aria-labelledby="revoke-all">
        <h2 id="revoke-all">Sign everyone out</h2>
        <p class="muted">Ends every session on every instance, yours included. Everyone signs in again with their key.</p>
        <form method="post" action="/admin/sessions/revoke-all" data-console-action>
          <input type="hidden" name="_csrf" value="${view.csrfToken}">
          <label for="confirm-all">Type <code>${REVOKE_ALL_CONFIRMATION}</code> to confirm</label>
          <div class="row"><input id="confirm-all" name="confirm" type="text" autocomplete="off" required><button class="danger" type="submit">Revoke every session</button></div>
        </form>
      </section>`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });

  registerConsoleAction(scope, ctx, 'sessions', '/sessions/revoke', 'session.revoke', async (request, session) => {
    const handle = formField(request, 'handle', { max: 64 });
    const count = await ctx.deps.identity.revokeSessionByHandle(handle, { actor: `admin:${session.userId}`, reason: 'revoked from the admin console' });
    return { message: count ? 'The session is revoked on every instance.' : 'That session had already ended.', redirect: '/admin/sessions', audit: { handle, sessions: count } };
  });

  registerConsoleAction(scope, ctx, 'sessions', '/sessions/revoke-user', 'session.revoke_user', async (request, session) => {
    const userId = formField(request, 'user_id', { max: 64 });
    const count = await ctx.deps.identity.revokeUserSessions(userId, { actor: `admin:${session.userId}`, reason: 'revoked from the admin console' });
    return { message: `${count} session${count === 1 ? '' : 's'} of this user revoked on every instance.`, redirect: '/admin/sessions', audit: { target: userId, sessions: count } };
  });

  registerConsoleAction(scope, ctx, 'sessions', '/sessions/revoke-all', 'session.revoke_all', async (request, session) => {
    if (formField(request, 'confirm', { max: 100 }).trim().toLowerCase() !== REVOKE_ALL_CONFIRMATION) {
      throw new GatehouseError('confirmation_mismatch', { status: 400, publicMessage: `Type "${REVOKE_ALL_CONFIRMATION}" to confirm.` });
    }
    const count = await ctx.deps.identity.revokeAllSessions({ actor: `admin:${session.userId}`, reason: 'revoked from the admin console' });
    return { message: `${count} session${count === 1 ? '' : 's'} revoked on every instance. You will sign in again.`, redirect: '/sign-in', audit: { sessions: count } };
  });
}
