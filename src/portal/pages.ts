import type { SessionRow, StoredCredential } from '../identity/index.js';
import { html, layout, type SafeHtml } from './html.js';

export interface PageContext {
  organisation: string;
  csrfToken: string;
}

export function signInPage(ctx: PageContext, options: { returnTo: string; legacy: boolean; stepUp: boolean; message?: string }): string {
  const legacyForm = options.legacy && !options.stepUp
    ? html`<div class="divider">or, for accounts without a key</div>
      <form method="post" action="/sign-in/password" autocomplete="on">
        <input type="hidden" name="_csrf" value="${ctx.csrfToken}">
        <input type="hidden" name="return_to" value="${options.returnTo}">
        <label for="legacy-email">Work email</label><input id="legacy-email" name="email" type="email" autocomplete="username" required>
        <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
        <label for="code">Code from your authenticator app</label><input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6">
        <button class="block secondary" type="submit">Sign in with password</button>
      </form>`
    : html``;
  const body = html`
    <h1>${options.stepUp ? 'Confirm it’s you' : 'Sign in'}</h1>
    <p class="muted">${options.stepUp
      ? 'This app asks for a recent touch of your security key. Touch your key again to continue.'
      : 'Use your security key or passkey. It only works on this site, so it cannot be phished.'}</p>
    <div id="error" class="notice error${options.message ? '' : ' hidden'}" role="alert">${options.message ?? ''}</div>
    ${options.stepUp ? html`` : html`<label for="email">Work email <span class="muted">(optional)</span></label>
    <input id="email" type="email" autocomplete="username webauthn" placeholder="you@company.com">`}
    <button id="sign-in-key" class="block" type="button">${options.stepUp ? 'Touch your security key' : 'Sign in with a security key'}</button>
    ${legacyForm}`;
  return layout(
    { title: 'Sign in', organisation: ctx.organisation, csrfToken: ctx.csrfToken, scripts: true, data: { 'return-to': options.returnTo, 'step-up': options.stepUp ? '1' : '0' } },
    body,
  );
}

export function enrollPage(ctx: PageContext, options: { token: string; email: string; name: string }): string {
  const body = html`
    <h1>Set up your security key</h1>
    <p>Welcome, ${options.name}. Register a security key or passkey for <strong>${options.email}</strong>.
    From now on you sign in by touching it: no password to type, nothing a fake site can reuse.
    You will touch it twice: once to register it, once to confirm it works on this site.</p>
    <div id="status" class="notice ok hidden" aria-live="polite"></div>
    <div id="error" class="notice error hidden" role="alert"></div>
    <label for="key-name">Name this key</label>
    <input id="key-name" type="text" maxlength="60" value="My security key">
    <button id="enroll-key" class="block" type="button">Register my key</button>
    <p class="muted spaced">This link works once. If it has expired, ask your IT administrator for a new one.</p>`;
  return layout({ title: 'Set up your key', organisation: ctx.organisation, csrfToken: ctx.csrfToken, scripts: true, data: { invite: options.token } }, body);
}

function when(ms: number | undefined): string {
  return ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function accountPage(
  ctx: PageContext,
  options: { email: string; name: string; keys: StoredCredential[]; sessions: SessionRow[]; currentHash: string; notice?: string },
): string {
  const keys: SafeHtml[] = options.keys.map(
    (key) => html`<tr>
      <td><form class="inline-rename row" method="post" action="/account/keys/rename">
        <input type="hidden" name="_csrf" value="${ctx.csrfToken}"><input type="hidden" name="id" value="${key.id}">
        <input type="text" name="name" value="${key.name}" maxlength="60" aria-label="Key name"><button class="secondary" type="submit">Rename</button></form></td>
      <td><span class="badge ${key.authenticatorClass === 'hwk' ? 'ok' : ''}">${key.authenticatorClass === 'hwk' ? (key.model ?? 'Hardware key') : 'Passkey'}</span></td>
      <td class="muted">${when(key.createdAt)}${key.addedIp ? html`<br>from ${key.addedIp}` : ''}</td>
      <td class="muted">${when(key.lastUsedAt)}</td>
      <td><form method="post" action="/account/keys/remove"><input type="hidden" name="_csrf" value="${ctx.csrfToken}">
        <input type="hidden" name="id" value="${key.id}"><button class="danger" type="submit" ${options.keys.length <= 1 ? 'disabled title="Your only key cannot be removed"' : ''}>Remove</button></form></td></tr>`,
  );
  const sessions: SafeHtml[] = options.sessions.map(
    (session) => html`<tr>
      <td>${session.userAgent.slice(0, 60) || 'Unknown browser'} ${session.idHash === options.currentHash ? html`<span class="badge ok">This browser</span>` : ''}</td>
      <td class="muted">${session.ip}</td><td class="muted">${when(session.lastSeenAt)}</td>
      <td><span class="badge grey">${session.amr.join(' ')}</span></td>
      <td><form method="post" action="/account/sessions/end"><input type="hidden" name="_csrf" value="${ctx.csrfToken}">
        <input type="hidden" name="handle" value="${session.handle}"><button class="danger" type="submit">End</button></form></td></tr>`,
  );
  const body = html`
    <h1>Your account</h1>
    <p class="muted">${options.name} · ${options.email}</p>
    ${options.notice ? html`<div class="notice ok" role="status">${options.notice}</div>` : ''}
    <div id="status" class="notice ok hidden" aria-live="polite"></div>
    <div id="error" class="notice error hidden" role="alert"></div>
    <h2>Security keys</h2>
    <p class="muted">A key you do not recognise was not added by you: remove it and tell your IT team.</p>
    <table><thead><tr><th>Name</th><th>Type</th><th>Added</th><th>Last used</th><th></th></tr></thead><tbody>${keys}</tbody></table>
    <div class="row spaced add-key"><input id="key-name" type="text" maxlength="60" value="Backup key" aria-label="New key name">
      <button id="add-key" class="secondary" type="button">Add a key</button></div>
    <h2>Where you are signed in</h2>
    <table><thead><tr><th>Browser</th><th>Address</th><th>Last active</th><th>Method</th><th></th></tr></thead><tbody>${sessions}</tbody></table>
    <form class="spaced" method="post" action="/account/sign-out-everywhere"><input type="hidden" name="_csrf" value="${ctx.csrfToken}">
      <button class="danger" type="submit">Sign out everywhere</button></form>`;
  return layout({ title: 'Account', organisation: ctx.organisation, csrfToken: ctx.csrfToken, scripts: true, signedInAs: options.email, wide: true }, body);
}

export function messagePage(
  ctx: PageContext,
  options: { title: string; message: string; requestId?: string; action?: { href: string; label: string }; status?: 'error' | 'ok' | 'warn'; assetBase?: string },
): string {
  const body = html`
    <h1>${options.title}</h1>
    <div class="notice ${options.status ?? 'error'}" role="alert">${options.message}</div>
    ${options.action ? html`<a class="button" href="${options.action.href}">${options.action.label}</a>` : ''}
    ${options.requestId ? html`<p class="muted spaced">Reference for your IT team: <code>${options.requestId}</code></p>` : ''}`;
  return layout({ title: options.title, organisation: ctx.organisation, csrfToken: ctx.csrfToken, ...(options.assetBase ? { assetBase: options.assetBase } : {}) }, body);
}

/**
 * After a password sign-in that must continue to an app: CSP form-action 'self' applies to every redirect
 * that follows a form submission, so a 303 chain ending on an app host is blocked by the browser. This
 * page starts a fresh navigation (meta refresh, plus a link) instead.
 */
export function continuePage(ctx: PageContext, target: string): string {
  const body = html`
    <h1>Signed in</h1>
    <p>Taking you back to where you were going.</p>
    <a class="button" href="${target}">Continue</a>`;
  return layout({ title: 'Signed in', organisation: ctx.organisation, csrfToken: ctx.csrfToken, refreshTo: target }, body);
}
