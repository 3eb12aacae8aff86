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
  signedInAs?: string;
  wide?: boolean;
  scripts?: boolean;
  /** Navigate here at once (a continuation page that is not the result of a form submission). */
  refreshTo?: string;
  /** Where /assets lives: '' on the portal itself, the portal origin on pages an app host serves. */
  assetBase?: string;
}

export function layout(options: LayoutOptions, body: SafeHtml): string {
  const data = Object.entries(options.data ?? {})
    .map(([key, value]) => ` data-${key.replace(/[^a-z-]/g, '')}="${escapeHtml(value)}"`)
    .join('');
  const nav = options.signedInAs
    ? html`<nav><span class="muted">${options.signedInAs}</span><a href="/account">Account</a>
        <form method="post" action="/sign-out"><input type="hidden" name="_csrf" value="${options.csrfToken ?? ''}"><button class="link" type="submit">Sign out</button></form></nav>`
    : html``;
  const scripts = options.scripts
    ? html`<script src="/assets/simplewebauthn-browser.js"></script><script src="/assets/portal.js"></script>`
    : html``;
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${options.csrfToken ?? ''}">
<meta name="referrer" content="same-origin">
<title>${options.title} · ${options.organisation}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${options.assetBase ?? ''}/assets/portal.css">${options.refreshTo ? new SafeHtml(`<meta http-equiv="refresh" content="0;url=${escapeHtml(options.refreshTo)}">`) : ''}</head>
<body${new SafeHtml(data)}>
<header class="top"><div class="mark" aria-hidden="true">G</div><div class="org">${options.organisation}</div>${nav}</header>
<main><div class="card${options.wide ? ' wide' : ''}">${body}</div></main>
<footer>Protected by Gatehouse · Sign in only at this address. Nobody from IT will ever ask for your code.</footer>
${scripts}</body></html>`.value}`;
}
