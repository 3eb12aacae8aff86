import { PORTAL_CSS } from './portal-css.js';

/** Server-rendered HTML. Every interpolated value goes through `escapeHtml`; there is no inline script. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A tagged template that escapes every value unless it is already `SafeHtml`. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    const rendered = Array.isArray(value)
      ? value.map((item) => (item instanceof SafeHtml ? item.value : escapeHtml(item))).join('')
      : value instanceof SafeHtml
        ? value.value
        : value === undefined || value === null || value === false
          ? ''
          : escapeHtml(value);
    out += rendered + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

export interface LayoutOptions {
  title: string;
  organisation: string;
  csrfToken?: string;
  /** `data-*` attributes on <body> for portal.js (values escaped). */
  data?: Record<string, string>;
  /** Who is signed in (shown on every page that knows it, so a person sees which account acted). */
  signedInAs?: string;
  wide?: boolean;
  scripts?: boolean;
  /** Navigate here at once (a continuation page that is not the result of a form submission). */
  refreshTo?: string;
  /** The portal origin on pages another host serves ('' on the portal): the header's links go there. */
  assetBase?: string;
}

function navOf(options: LayoutOptions): SafeHtml {
  if (!options.signedInAs) return html``;
  const base = options.assetBase ?? '';
  // A sign-out form needs this origin's CSRF token; elsewhere the portal's own page asks first.
  const signOut = base === '' && options.csrfToken
    ? html`<form method="post" action="/sign-out"><input type="hidden" name="_csrf" value="${options.csrfToken}"><button class="link" type="submit">Sign out</button></form>`
    : html`<a href="${base}/sign-out">Sign out</a>`;
  return html`<nav aria-label="Account"><span class="muted">Signed in as <strong>${options.signedInAs}</strong></span><a href="${base}/account">Account</a>${signOut}</nav>`;
}

export function layout(options: LayoutOptions, body: SafeHtml): string {
  const data = Object.entries(options.data ?? {})
    .map(([key, value]) => ` data-${key.replace(/[^a-z-]/g, '')}="${escapeHtml(value)}"`)
    .join('');
  const scripts = options.scripts
    ? html`<script src="/assets/simplewebauthn-browser.js"></script><script src="/assets/portal.js"></script>`
    : html``;
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${options.csrfToken ?? ''}">
<meta name="referrer" content="same-origin">
<title>${options.title} · ${options.organisation}</title>
<link rel="icon" href="data:,">
<style>${new SafeHtml(PORTAL_CSS)}</style>${options.refreshTo ? new SafeHtml(`<meta http-equiv="refresh" content="0;url=${escapeHtml(options.refreshTo)}">`) : ''}</head>
<body${new SafeHtml(data)}>
<header class="top"><div class="mark" aria-hidden="true">G</div><div class="org">${options.organisation}</div>${navOf(options)}</header>
<main><div class="card${options.wide ? ' wide' : ''}">${body}</div></main>
<footer>Protected by Gatehouse · Sign in only at this address. Nobody from IT will ever ask for your code.</footer>
${scripts}</body></html>`.value}`;
}
