import type { SessionRow, StoredCredential } from '../identity/index.js';
import { describeUserAgent } from './describe-user-agent.js';
import { html, layout, type SafeHtml } from './html.js';
import { credentialKindLabel, signInMethodLabel } from './sign-in-method-label.js';

export interface PageContext {
  organisation: string;
  csrfToken: string;
}

export interface SignInPageOptions {
  returnTo: string;
  legacy: boolean;
  stepUp: boolean;
  message?: string;
  /** What the person is signing in to ("Payroll", "the command line"), when return_to names it. */
  destination?: string;
  /** A confirmation to show first (signed out, session ended). */
  notice?: string;
  /** Step-up: the person already signed in, whose key must answer. */
  signedInAs?: string;
}

export function signInPage(ctx: PageContext, options: SignInPageOptions): string {
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
  const to = options.destination;
  const body = html`
    <h1>${options.stepUp ? 'Confirm it’s you' : to ? html`Sign in to ${to}` : 'Sign in'}</h1>
    ${options.notice ? html`<div class="notice ok" role="status">${options.notice}</div>` : ''}
    <p class="muted">${options.stepUp
      ? `${to ?? 'This page'} asks for a recent touch of your security key or passkey. Touch it again to continue.`
      : `Use your security key or passkey${to ? ` to continue to ${to}` : ''}. It only works on this site, so it cannot be phished.`}</p>
    <div id="error" class="notice error${options.message ? '' : ' hidden'}" role="alert">${options.message ?? ''}</div>
    ${options.stepUp ? html`` : html`<label for="email">Work email <span class="muted">(optional)</span></label>
    <input id="email" type="email" autocomplete="username webauthn" placeholder="you@company.com">`}
    <button id="sign-in-key" class="block" type="button">${options.stepUp ? 'Touch your key' : 'Sign in with a security key or passkey'}</button>
    ${options.stepUp
      ? options.signedInAs ? html`<p class="who spaced">Signed in as <strong>${options.signedInAs}</strong>. Not you? <a href="/sign-out">Use another account</a>.</p>` : ''
      : html`<p class="muted spaced">No key yet? Your IT team sends you a one-time link to set one up.</p>`}
    ${legacyForm}`;
  return layout(
    {
      title: to && !options.stepUp ? `Sign in to ${to}` : 'Sign in',
      organisation: ctx.organisation,
      csrfToken: ctx.csrfToken,
      scripts: true,
      data: { 'return-to': options.returnTo, 'step-up': options.stepUp ? '1' : '0' },
      ...(options.stepUp && options.signedInAs ? { signedInAs: options.signedInAs } : {}),
    },
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

/** The attribute is built here, not interpolated as text: an interpolated string would be escaped into `title=&quot;…`. */
function removeButton(onlyKey: boolean): SafeHtml {
  return onlyKey
    ? html`<button class="danger" type="submit" disabled title="Your only key cannot be removed: add another key first">Remove</button>`
    : html`<button class="danger" type="submit">Remove</button>`;
}

const REENROLL_NOTICE = html`<div class="notice warn" role="alert"><strong>Your security team asks you to set up your key again.</strong>
  After a security incident your password and codes were switched off. Register a security key or passkey below (or with the link your IT team sent you), then remove any key you do not recognise.</div>`;

export function accountPage(
  ctx: PageContext,
  options: { email: string; name: string; keys: StoredCredential[]; sessions: SessionRow[]; currentHash: string; notice?: string; reenrollRequired?: boolean; continueTo?: string },
): string {
  const keys: SafeHtml[] = options.keys.map(
    (key) => html`<tr>
      <td><form class="inline-rename row" method="post" action="/account/keys/rename">
        <input type="hidden" name="_csrf" value="${ctx.csrfToken}"><input type="hidden" name="id" value="${key.id}">
        <input type="text" name="name" value="${key.name}" maxlength="60" aria-label="Key name"><button class="secondary" type="submit">Rename</button></form></td>
      <td><span class="badge ${key.authenticatorClass === 'hwk' ? 'ok' : ''}">${credentialKindLabel(key.authenticatorClass, key.model)}</span></td>
      <td class="muted">${when(key.createdAt)}${key.addedIp ? html`<br>from ${key.addedIp}` : ''}</td>
      <td class="muted">${when(key.lastUsedAt)}</td>
      <td><form method="post" action="/account/keys/remove"><input type="hidden" name="_csrf" value="${ctx.csrfToken}">
        <input type="hidden" name="id" value="${key.id}">${removeButton(options.keys.length <= 1)}</form></td></tr>`,
  );
  const sessions: SafeHtml[] = options.sessions.map(
    (session) => html`<tr>
      <td><span title="${session.userAgent}">${describeUserAgent(session.userAgent)}</span> ${session.idHash === options.currentHash ? html`<span class="badge ok">This browser</span>` : ''}</td>
      <td class="muted">${session.ip}</td><td class="muted">${when(session.lastSeenAt)}</td>
      <td><span class="badge grey">${signInMethodLabel(session.amr)}</span></td>
      <td><form method="post" action="/account/sessions/end"><input type="hidden" name="_csrf" value="${ctx.csrfToken}">
        <input type="hidden" name="handle" value="${session.handle}"><button class="danger" type="submit">End</button></form></td></tr>`,
  );
  const body = html`
    <h1>Your account</h1>
    <p class="muted">${options.name} · ${options.email}</p>
    ${options.reenrollRequired ? REENROLL_NOTICE : ''}
    ${options.notice ? html`<div class="notice ok" role="status">${options.notice}</div>` : ''}
    ${options.continueTo ? html`<p><a class="button" href="${options.continueTo}">Continue where you were going</a></p>` : ''}
    <div id="status" class="notice ok hidden" aria-live="polite"></div>
    <div id="error" class="notice error hidden" role="alert"></div>
    <h2>Security keys</h2>
    <p class="muted">A key you do not recognise was not added by you: remove it and tell your IT team.</p>
    <div class="table-scroll"><table><thead><tr><th>Name</th><th>Type</th><th>Added</th><th>Last used</th><th><span class="visually-hidden">Remove</span></th></tr></thead><tbody>${keys}</tbody></table></div>
    <div class="row spaced add-key"><input id="key-name" type="text" maxlength="60" value="Backup key" aria-label="New key name">
      <button id="add-key" class="secondary" type="button">Add a key</button></div>
    <h2>Where you are signed in</h2>
    <div class="table-scroll"><table><thead><tr><th>Browser</th><th>Address</th><th>Last active</th><th>Signed in with</th><th><span class="visually-hidden">End</span></th></tr></thead><tbody>${sessions}</tbody></table></div>
    <form class="spaced" method="post" action="/account/sign-out-everywhere"><input type="hidden" name="_csrf" value="${ctx.csrfToken}">
      <button class="danger" type="submit">Sign out everywhere</button></form>`;
  return layout({ title: 'Account', organisation: ctx.organisation, csrfToken: ctx.csrfToken, scripts: true, signedInAs: options.email, wide: true }, body);
}

export interface PageAction {
  href: string;
  label: string;
  secondary?: boolean;
}

export interface MessagePageOptions {
  title: string;
  message: string;
  requestId?: string;
  action?: PageAction;
  /** Further ways on (the first `action` stays first). */
  actions?: PageAction[];
  status?: 'error' | 'ok' | 'warn';
  /** The portal origin, when another host serves the page. */
  assetBase?: string;
  /** The signed-in person, shown in the header and in the text so they know which account was refused. */
  signedInAs?: string;
  /** A plain sentence under the notice: what the person can do next. */
  next?: string;
}

export function messagePage(ctx: PageContext, options: MessagePageOptions): string {
  const actions = [...(options.action ? [options.action] : []), ...(options.actions ?? [])];
  const body = html`
    <h1>${options.title}</h1>
    <div class="notice ${options.status ?? 'error'}" role="${options.status === 'ok' ? 'status' : 'alert'}">${options.message}</div>
    ${options.signedInAs ? html`<p class="who">You are signed in as <strong>${options.signedInAs}</strong>.</p>` : ''}
    ${options.next ? html`<p>${options.next}</p>` : ''}
    ${actions.length > 0
      ? html`<div class="actions">${actions.map((a, i) => html`<a class="button${i > 0 || a.secondary ? ' secondary' : ''}" href="${a.href}">${a.label}</a>`)}</div>`
      : ''}
    ${options.requestId ? html`<p class="muted spaced">Reference for your IT team: <code>${options.requestId}</code></p>` : ''}`;
  return layout(
    {
      title: options.title,
      organisation: ctx.organisation,
      csrfToken: ctx.csrfToken,
      ...(options.assetBase ? { assetBase: options.assetBase } : {}),
      ...(options.signedInAs ? { signedInAs: options.signedInAs } : {}),
    },
    body,
  );
}

/** Asks before signing out ("use another account" from an app's page): the form carries the CSRF token. */
export function signOutPage(ctx: PageContext, options: { email: string; returnTo: string }): string {
  const body = html`
    <h1>Use another account?</h1>
    <p>You are signed in as <strong>${options.email}</strong>. Sign out here, then sign in with the account you want to use.</p>
    <form method="post" action="/sign-out">
      <input type="hidden" name="_csrf" value="${ctx.csrfToken}">
      <input type="hidden" name="return_to" value="${options.returnTo}">
      <button class="block" type="submit">Sign out and sign in again</button>
    </form>
    <p class="muted spaced"><a href="/account">Stay signed in and go to your account</a></p>`;
  return layout({ title: 'Sign out', organisation: ctx.organisation, csrfToken: ctx.csrfToken, signedInAs: options.email }, body);
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
