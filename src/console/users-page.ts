import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../lib/errors.js';
import { credentialKindLabel, describeUserAgent, html, signInMethodLabel, type SafeHtml } from '../portal/index.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, consoleTime } from './console-layout.js';
import { registerUserActions } from './users-actions.js';
import { listUsers, USER_LIST_FILTERS, userProfile, type UserListFilter, type UserListRow, type UserProfile } from './users-query.js';

const PAGE_SIZE = 100;
const USER_ID = /^[A-Za-z0-9-]{1,64}$/;

function badInput(message: string): GatehouseError {
  return new GatehouseError('invalid_input', { status: 400, publicMessage: message });
}

/** The list's query string, checked: an unknown filter or an oversized value is a 400 naming it. */
function listQuery(raw: Record<string, unknown>): { q: string; filter: UserListFilter; after: string } {
  const text = (name: string, max: number): string => {
    const value = raw[name];
    if (value === undefined) return '';
    if (typeof value !== 'string' || value.length > max) throw badInput(`The query parameter "${name}" must be text of at most ${max} characters.`);
    return value;
  };
  const filter = text('filter', 20) || 'all';
  if (!USER_LIST_FILTERS.includes(filter as UserListFilter)) throw badInput(`The filter must be one of: ${USER_LIST_FILTERS.join(', ')}.`);
  return { q: text('q', 200), filter: filter as UserListFilter, after: text('after', 254) };
}

/** How a user signs in, in words: keys, or the phishable factors that remain. */
function factorsOf(user: UserListRow): SafeHtml {
  if (user.keys > 0) return html`<span class="badge ok">${user.keys} key${user.keys === 1 ? '' : 's'}</span>${user.password ? html` <span class="badge grey">+ password</span>` : ''}`;
  if (user.password) return html`<span class="badge warn">${user.totp ? 'Password + code only' : 'Password only'}</span>`;
  return html`<span class="badge grey">No key yet</span>`;
}

function statusOf(user: UserListRow): SafeHtml {
  return html`${user.status === 'active' ? html`<span class="badge ok">Active</span>` : html`<span class="badge danger">Disabled</span>`}${user.reenrollRequired ? html` <span class="badge warn">Re-enrollment required</span>` : ''}`;
}

/**
 * Users: search, the password-only view (active users without a key: the number a security team
 * drives to zero), invites, and each user's page (keys with model and where they were added,
 * sessions, groups). Every change goes through the identity capability (see users-actions.ts).
 */
export function registerUsersPage(scope: FastifyInstance, ctx: ConsoleContext): void {
  scope.get('/users', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const { q, filter, after } = listQuery(request.query as Record<string, unknown>);
    const { users, total, more } = await listUsers(ctx.deps.db, { ...(q ? { q } : {}), filter, ...(after ? { after } : {}), limit: PAGE_SIZE });
    const view = ctx.view(request, reply, session, 'users', 'Users');
    const adminGroups = ctx.deps.settings().adminGroups;
    const rows = users.map(
      (u) => html`<tr>
        <td><a href="/admin/users/${encodeURIComponent(u.id)}">${u.email}</a></td>
        <td>${u.name}</td>
        <td>${statusOf(u)}</td>
        <td>${u.groups.map((g) => html`<span class="badge ${adminGroups.includes(g) ? 'warn' : 'grey'}">${g}</span> `)}</td>
        <td>${factorsOf(u)}</td>
        <td>${consoleTime(u.createdAt)}</td></tr>`,
    );
    const next = new URLSearchParams({ ...(q ? { q } : {}), ...(filter !== 'all' ? { filter } : {}), after: users.at(-1)?.email ?? '' });
    const tabs = USER_LIST_FILTERS.map((f) => {
      const href = `/admin/users${f === 'all' ? '' : `?filter=${f}`}`;
      const label = { all: 'Everyone', 'password-only': 'Password-only', disabled: 'Disabled' }[f];
      return f === filter ? html`<a class="button small" href="${href}" aria-current="page">${label}</a>` : html`<a class="button small secondary" href="${href}">${label}</a>`;
    });
    const body = html`
      <div class="pager" role="navigation" aria-label="User views">${tabs}</div>
      <form class="filters" method="get" action="/admin/users" role="search">
        <input type="hidden" name="filter" value="${filter}">
        <label for="q">Email or name</label>
        <div class="row"><input id="q" name="q" type="text" value="${q}" maxlength="200"><button class="secondary" type="submit">Search</button></div>
      </form>
      <p class="muted">${total} user${total === 1 ? '' : 's'}${filter === 'password-only' ? ' active without a key (password and code only, or nothing yet)' : filter === 'disabled' ? ' disabled' : ''}${q ? ' matching' : ''}.${after ? html` Showing those after <strong>${after}</strong>.` : ''}</p>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Groups</th><th scope="col">Signs in with</th><th scope="col">Created</th></tr></thead>
        <tbody>${rows.length ? rows : html`<tr><td colspan="6" class="muted">No user${q ? ' matches' : ' here'}.</td></tr>`}</tbody>
      </table></div>
      ${more ? html`<p class="pager"><a class="button secondary" href="/admin/users?${next.toString()}">Next ${PAGE_SIZE}</a></p>` : ''}
      <section aria-labelledby="invite">
        <h2 id="invite">Invite someone</h2>
        <p class="muted">Creates the user if needed and shows a one-time enrollment link once: send it over a channel you trust.</p>
        ${inviteForm(view.csrfToken, adminGroups)}
      </section>`;
    return reply.type('text/html; charset=utf-8').send(consolePage(view, body));
  });

  scope.get('/users/:id', async (request, reply) => {
    const session = await ctx.gate.read(request);
    const id = (request.params as { id: string }).id;
    if (!USER_ID.test(id)) throw badInput('That is not a user id.');
    const profile = await userProfile(ctx.deps.db, id, ctx.deps.clock.now());
    if (!profile) throw new GatehouseError('user_not_found', { status: 404, publicMessage: 'No such user.' });
    const view = ctx.view(request, reply, session, 'users', profile.user.email);
    return reply.type('text/html; charset=utf-8').send(consolePage(view, profileBody(profile, view.csrfToken, ctx.deps.settings().adminGroups, session.userId)));
  });

  registerUserActions(scope, ctx);
}

function inviteForm(csrf: string, adminGroups: readonly string[], existing?: { email: string; admin: boolean }): SafeHtml {
  const email = existing?.email;
  return html`<form method="post" action="/admin/users/invite" data-console-action>
    <input type="hidden" name="_csrf" value="${csrf}">
    ${email
      ? html`<input type="hidden" name="email" value="${email}">${existing.admin
          ? html`<label for="reinvite-confirm">An administrator: type <code>${email}</code> to issue a link that can add a key to this account</label><input id="reinvite-confirm" name="confirm_email" type="text" maxlength="254" autocomplete="off">`
          : ''}`
      : html`<label for="invite-email">Email</label><input id="invite-email" name="email" type="email" maxlength="254" required autocomplete="off">
        <label for="invite-name">Name</label><input id="invite-name" name="name" type="text" maxlength="200" autocomplete="off">
        <label for="invite-groups">Groups (separated by commas or spaces)</label><input id="invite-groups" name="groups" type="text" maxlength="500" autocomplete="off">
        <label for="invite-confirm">For an admin group (${adminGroups.join(', ')}): type the email again</label><input id="invite-confirm" name="confirm_email" type="text" maxlength="254" autocomplete="off">`}
    <label class="row"><input name="user_has_keys" type="checkbox" value="yes"> The user already has keys: issue a link anyway (whoever opens it first can add a key)</label>
    <button type="submit">${email ? 'Issue a new enrollment link' : 'Invite'}</button>
  </form>`;
}

function hidden(csrf: string, userId: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="user_id" value="${userId}">`;
}

function profileBody(profile: UserProfile, csrf: string, adminGroups: readonly string[], selfId: string): SafeHtml {
  const { user, keys, sessions, openInvites } = profile;
  const self = user.id === selfId;
  const keyRows = keys.map(
    (k) => html`<tr>
      <td>${k.name}</td>
      <td><span class="badge ${k.authenticatorClass === 'hwk' ? 'ok' : 'grey'}">${credentialKindLabel(k.authenticatorClass, k.model)}</span>${k.backedUp ? html` <span class="muted">synced</span>` : ''}</td>
      <td>${consoleTime(k.createdAt)}<br><span class="muted">${k.addedIp ? html`from <code>${k.addedIp}</code>` : 'address not recorded'}${k.addedUserAgent ? html`, ${describeUserAgent(k.addedUserAgent)}` : ''}</span></td>
      <td>${consoleTime(k.lastUsedAt)}</td>
      <td><form method="post" action="/admin/users/keys/remove" data-console-action>${hidden(csrf, user.id)}<input type="hidden" name="credential_id" value="${k.id}"><button class="danger small" type="submit">Remove</button></form></td></tr>`,
  );
  const sessionRows = sessions.map(
    (s) => html`<tr>
      <td>${signInMethodLabel(s.amr)}</td><td><code>${s.ip}</code></td><td>${describeUserAgent(s.userAgent)}</td>
      <td>${consoleTime(s.createdAt)}</td><td>${consoleTime(s.lastSeenAt)}</td>
      <td><form method="post" action="/admin/users/sessions/revoke" data-console-action>${hidden(csrf, user.id)}<input type="hidden" name="handle" value="${s.handle}"><button class="danger small" type="submit">Revoke</button></form></td></tr>`,
  );
  const groupBadges = user.groups.map(
    (g) => html`<li class="row"><span class="badge ${adminGroups.includes(g) ? 'warn' : 'grey'}">${g}</span>${adminGroups.includes(g) ? html` <span class="muted">admin</span>` : ''}
      <form method="post" action="/admin/users/groups/remove" data-console-action>${hidden(csrf, user.id)}<input type="hidden" name="group" value="${g}"><button class="secondary small" type="submit">Remove</button></form></li>`,
  );
  return html`
    <p class="muted">${user.name} · ${user.email}${self ? ' · you' : ''}</p>
    <div class="grid">
      <div class="stat"><div class="label">Status</div><div class="value">${statusOf(user)}</div></div>
      <div class="stat"><div class="label">Signs in with</div><div class="value">${factorsOf(user)}</div>
        <div class="label">Password ${user.password ? 'set' : 'none'} · code ${user.totp ? 'set' : 'none'}</div></div>
      <div class="stat"><div class="label">Created</div><div class="value small-value">${consoleTime(user.createdAt)}</div></div>
    </div>
    ${openInvites.length
      ? html`<div class="notice warn" role="status">${openInvites.length} enrollment link${openInvites.length === 1 ? '' : 's'} not yet used (the latest expires ${consoleTime(openInvites[0]!.expiresAt)}): whoever holds one can add a key to this account.</div>`
      : ''}
    <section aria-labelledby="keys"><h2 id="keys">Security keys and passkeys</h2>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Added</th><th scope="col">Last used</th><th scope="col">Remove</th></tr></thead>
        <tbody>${keyRows.length ? keyRows : html`<tr><td colspan="5" class="muted">No key registered.</td></tr>`}</tbody>
      </table></div>
      <p class="muted">Removing a key ends the sessions it opened, on every instance.</p>
      ${inviteForm(csrf, adminGroups, { email: user.email, admin: user.groups.some((g) => adminGroups.includes(g)) })}
    </section>
    <section aria-labelledby="groups"><h2 id="groups">Groups</h2>
      <ul class="group-list">${groupBadges.length ? groupBadges : html`<li class="muted">No group.</li>`}</ul>
      <form method="post" action="/admin/users/groups/add" data-console-action>${hidden(csrf, user.id)}
        <label for="add-groups">Add to groups (separated by commas or spaces)</label><input id="add-groups" name="groups" type="text" maxlength="500" required autocomplete="off">
        <label for="add-confirm">Adding to an admin group (${adminGroups.join(', ')}) grants the console: type <code>${user.email}</code> to confirm</label>
        <input id="add-confirm" name="confirm_email" type="text" maxlength="254" autocomplete="off">
        <button type="submit">Add</button>
      </form>
    </section>
    <section aria-labelledby="sessions"><h2 id="sessions">Live sessions</h2>
      <div class="table-scroll" tabindex="0"><table>
        <thead><tr><th scope="col">Method</th><th scope="col">Address</th><th scope="col">Browser</th><th scope="col">Signed in</th><th scope="col">Last use</th><th scope="col">Revoke</th></tr></thead>
        <tbody>${sessionRows.length ? sessionRows : html`<tr><td colspan="6" class="muted">No live session.</td></tr>`}</tbody>
      </table></div>
      <form method="post" action="/admin/users/sessions/revoke-all" data-console-action>${hidden(csrf, user.id)}<button class="danger" type="submit">Revoke every session of this user</button></form>
    </section>
    <section class="danger-zone" aria-labelledby="status">
      <h2 id="status">${user.status === 'active' ? 'Disable' : 'Enable'}</h2>
      ${self
        ? html`<p class="muted">Your own account cannot be disabled from the console: another administrator can.</p>`
        : user.status === 'active'
          ? html`<p class="muted">Sign-in is refused and every session ends on every instance.</p>
            <form method="post" action="/admin/users/disable" data-console-action>${hidden(csrf, user.id)}<button class="danger" type="submit">Disable ${user.email}</button></form>`
          : html`<form method="post" action="/admin/users/enable" data-console-action>${hidden(csrf, user.id)}<button type="submit">Enable ${user.email}</button></form>`}
    </section>`;
}
