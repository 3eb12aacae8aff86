import { html, layout } from '../portal/index.js';
import type { NameExplanation } from './explain-name.js';

/**
 * The page a browser sees when it was sent to Gatehouse for a blocked name: which name, why,
 * in plain words, and no button to go on — a lookalike of the company's own sign-in page is exactly what
 * a person must not be talked past.
 *
 * Only plain-http links arrive here readable: for https:// the browser opens TLS to the block-page
 * address for the blocked name, and no certificate we could hold is valid for it (one that were would
 * be a certificate for the phishing name). The browser then shows its own certificate error, which is
 * also a stop; the page says so, and docs/operations.md tells operators what else works (EDE-aware
 * resolvers and browsers, `block_response: nxdomain`).
 */
export function blockPage(options: { explanation: NameExplanation; organisation: string; portalOrigin: string }): string {
  const { explanation } = options;
  const body = html`
    <h1>This site is blocked</h1>
    <div class="notice error" role="alert"><strong>${explanation.name}</strong> was blocked: ${explanation.humanReason}.</div>
    <p>If a message or a text sent you here, it may be a phishing attempt. Do not enter your password or codes anywhere it leads.
    Sign in only at <a href="${options.portalOrigin}/">${options.portalOrigin}</a>.</p>
    <p class="muted">A link that starts with https:// to a blocked site shows a certificate warning instead of this page: this
    gateway holds no certificate for that name, and must not. That warning means the same thing: do not go on.</p>
    <p class="muted">Think this is a mistake? Tell your IT or security team the name above. Nobody from IT will ever ask you for your code.</p>
    <div class="actions"><a class="button" href="${options.portalOrigin}/report?domain=${encodeURIComponent(explanation.name)}">Report this</a>
    <a class="button secondary" href="${options.portalOrigin}/report?kind=mistake&amp;domain=${encodeURIComponent(explanation.name)}">This is a mistake</a></div>`;
  return layout({ title: 'Site blocked', organisation: options.organisation, assetBase: options.portalOrigin }, body);
}
