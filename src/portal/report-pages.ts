import type { ReportOutcome } from '../reports/index.js';
import { html, layout } from './html.js';
import type { PageContext } from './pages.js';

/**
 * "Report something suspicious". Everything a reporter pasted (or a block page put in the link) is
 * interpolated through `html`, which escapes it: a lure is hostile text (stored XSS) and is never
 * made a link here.
 */
export function reportPage(ctx: PageContext, options: { signedInAs: string | undefined; anonymousAllowed: boolean; domain: string; mistake: boolean; maxKb: number; returnPath: string; message?: string }): string {
  const title = options.mistake ? 'This block is a mistake' : 'Report something suspicious';
  const prefill = options.domain ? (options.mistake ? `The block of ${options.domain} is a mistake: ` : `${options.domain}\n`) : '';
  const body = html`
    <h1>${title}</h1>
    ${options.message ? html`<div class="notice error" role="alert">${options.message}</div>` : ''}
    <p>${options.mistake
      ? 'Tell us what you were trying to do. A person on the security team will look at it.'
      : 'Got a text, an email or a link that feels off? Paste it here. You will not get in trouble, even if you clicked it: tell us.'}</p>
    ${!options.signedInAs && !options.anonymousAllowed
      ? html`<p><a class="button" href="/sign-in?return_to=${encodeURIComponent(options.returnPath)}">Sign in to report</a></p>`
      : html`<form method="post" action="/report">
      <input type="hidden" name="_csrf" value="${ctx.csrfToken}">
      <input type="hidden" name="kind" value="${options.mistake ? 'mistake' : 'suspicious'}">
      <label for="report-body">The message, email or link (at most ${options.maxKb} KB)</label>
      <textarea id="report-body" name="body" rows="12" required maxlength="${options.maxKb * 1024}">${prefill}</textarea>
      <p class="muted">${options.signedInAs ? html`Reported as ${options.signedInAs}.` : 'You are not signed in: this report is anonymous.'}</p>
      <button type="submit">${options.mistake ? 'Send' : 'Report'}</button>
    </form>`}`;
  return layout({ title, organisation: ctx.organisation, csrfToken: ctx.csrfToken, ...(options.signedInAs ? { signedInAs: options.signedInAs } : {}) }, body);
}

export function reportThanksPage(ctx: PageContext, options: { signedInAs: string | undefined; outcome: ReportOutcome }): string {
  const { outcome } = options;
  const found = outcome.indicators.map((i) => html`<li><code>${i.defanged || i.value.includes('://') ? i.value.replace(/\./g, '[.]') : i.domain.replace(/\./g, '[.]')}</code>${i.shortened ? ' (a shortened link)' : ''}</li>`);
  const body = html`
    <h1>${outcome.thankYou.subject}</h1>
    <div class="notice ok" role="status">${outcome.thankYou.text}</div>
    ${found.length > 0 ? html`<p>We found these links in what you sent:</p><ul class="report-indicators">${found}</ul>` : ''}
    <p class="muted spaced">Reference: <code>${outcome.reportId}</code></p>
    <a class="button" href="/report">Report something else</a>`;
  return layout({ title: 'Thank you', organisation: ctx.organisation, csrfToken: ctx.csrfToken, ...(options.signedInAs ? { signedInAs: options.signedInAs } : {}) }, body);
}
