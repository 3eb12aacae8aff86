import { html, layout } from '../portal/index.js';
import type { NameExplanation } from './explain-name.js';

/**
 * The page a browser sees when it was sent to Gatehouse for a blocked name: which name, why,
 * in plain words, and no button to go on — a lookalike of the company's own sign-in page is exactly what
 * a person must not be talked past.
 */
export function blockPage(options: { explanation: NameExplanation; organisation: string; portalOrigin: string }): string {
  const { explanation } = options;
  const body = html`
    <h1>This site is blocked</h1>
    <div class="notice error" role="alert"><strong>${explanation.name}</strong> was blocked: ${explanation.humanReason}.</div>
    <p>If a message or a text sent you here, it may be a phishing attempt. Do not enter your password or codes anywhere it leads.
    Sign in only at <a href="${options.portalOrigin}/">${options.portalOrigin}</a>.</p>
    <p class="muted">Think this is a mistake? Tell your IT or security team the name above. Nobody from IT will ever ask you for your code.</p>`;
  return layout({ title: 'Site blocked', organisation: options.organisation, assetBase: options.portalOrigin }, body);
}
