import type { SessionView } from '../identity/index.js';
import { escapeHtml, html, PORTAL_CSS, SafeHtml } from '../portal/index.js';

export type ConsoleSection = 'overview' | 'users' | 'sessions' | 'apps' | 'dns' | 'incidents' | 'audit' | 'tokens' | 'reports';

const SECTIONS: readonly { id: ConsoleSection; href: string; label: string }[] = [
  { id: 'overview', href: '/admin', label: 'Overview' },
  { id: 'users', href: '/admin/users', label: 'Users' },
  { id: 'sessions', href: '/admin/sessions', label: 'Sessions' },
  { id: 'apps', href: '/admin/apps', label: 'Apps' },
  { id: 'dns', href: '/admin/dns', label: 'DNS' },
  { id: 'incidents', href: '/admin/incidents', label: 'Incidents' },
  { id: 'audit', href: '/admin/audit', label: 'Audit' },
  { id: 'tokens', href: '/admin/tokens', label: 'Tokens' },
  { id: 'reports', href: '/admin/reports', label: 'Reports' },
];

export interface ConsoleView {
  organisation: string;
  csrfToken: string;
  session: SessionView;
  section: ConsoleSection;
  title: string;
  /** Load uPlot (the overview's charts). */
  charts?: boolean;
  /** A page's own scripts from assets/console (after console.js), by file name. */
  scripts?: readonly string[];
}

/**
 * The console's page shell. Same look as the portal (its stylesheet inline, allowed by hash) plus the
 * console's own stylesheet and script from this origin: the portal CSP stands unchanged, so the
 * console has no inline script and no style attribute either. Every value is escaped by `html`.
 */
export function consolePage(view: ConsoleView, body: SafeHtml): string {
  const nav = SECTIONS.map((s) =>
    s.id === view.section ? html`<a href="${s.href}" aria-current="page">${s.label}</a>` : html`<a href="${s.href}">${s.label}</a>`,
  );
  const chartAssets = view.charts
    ? html`<link rel="stylesheet" href="/admin/assets/uPlot.min.css"><script src="/admin/assets/uPlot.iife.min.js"></script>`
    : html``;
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${view.csrfToken}">
<meta name="referrer" content="same-origin">
<title>${view.title} · Admin · ${view.organisation}</title>
<link rel="icon" href="data:,">
<style>${new SafeHtml(PORTAL_CSS)}</style>
<link rel="stylesheet" href="/admin/assets/console.css">${chartAssets}</head>
<body class="console">
<header class="top"><div class="mark" aria-hidden="true">G</div><div class="org">${view.organisation} <span class="muted">Admin</span></div>
<nav aria-label="Account"><span class="muted">Signed in as <strong>${view.session.email}</strong></span><a href="/account">Account</a><form method="post" action="/sign-out"><input type="hidden" name="_csrf" value="${view.csrfToken}"><button class="link" type="submit">Sign out</button></form></nav></header>
<nav class="console-nav" aria-label="Console">${nav}</nav>
<main class="console-main"><h1>${view.title}</h1>
<div id="console-status" class="notice ok hidden" role="status" aria-live="polite"></div>
<div id="console-error" class="notice error hidden" role="alert"></div>
<div id="console-secret" class="notice warn hidden" role="status"><p class="secret-label"></p><code class="secret-value"></code></div>
${body}</main>
<footer>Gatehouse admin console · every action here is recorded in the audit log under your name.</footer>
<script src="/assets/simplewebauthn-browser.js"></script><script src="/admin/assets/console.js"></script>${(view.scripts ?? []).map((name) => html`<script src="/admin/assets/${name}"></script>`)}</body></html>`.value}`;
}

/** A timestamp as the console shows it: UTC, to the minute, machine-readable in `datetime`. */
export function consoleTime(ms: number | null | undefined): SafeHtml {
  if (ms === null || ms === undefined) return html`<span class="muted">—</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 16)} UTC</time>`;
}

export { escapeHtml };
