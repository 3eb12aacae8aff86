import type { OwnerTaskView } from '../credentials/index.js';
import { html, layout, type SafeHtml } from './html.js';
import type { PageContext } from './pages.js';

/**
 * The owner's page behind a one-time link. The form posts back to the same path; the layout's
 * `<meta name="referrer" content="same-origin">` is what lets that POST carry an Origin header (Fetch:
 * a POST under `no-referrer` sends `Origin: null`, which the CSRF check refuses) while nothing is sent
 * to any other origin; the page loads nothing from elsewhere.
 */
export function ownerTaskPage(ctx: PageContext, options: { email: string; path: string; task: OwnerTaskView }): string {
  const { item, campaignReason, attesters } = options.task;
  const body = html`
    <h1>Credential rotation task</h1>
    <p>You are listed as the owner of a credential that the rotation campaign <strong>${campaignReason}</strong> must replace, and Gatehouse could not replace it for you.</p>
    <table><tbody>
      <tr><th>Credential</th><td>${item.name}</td></tr>
      <tr><th>Kind</th><td>${item.kind}</td></tr>
      <tr><th>System</th><td>${item.system}</td></tr>
      <tr><th>Why it is yours to do</th><td>${item.lastError ?? 'no rotator could reach it'}</td></tr>
      ${attesters.length > 0 ? html`<tr><th>Already attested by</th><td>${attesters.join(', ')}</td></tr>` : ''}
    </tbody></table>
    <p>Rotate or revoke it in ${item.system}, check that the old one is refused, then say what you did. An administrator approves it afterwards.</p>
    <form method="post" action="${options.path}">
      <input type="hidden" name="_csrf" value="${ctx.csrfToken}">
      <label for="statement">What you did, and how you checked it</label>
      <textarea id="statement" name="statement" maxlength="1000" rows="4" required></textarea>
      <button class="block" type="submit">Record my answer</button>
    </form>
    <p class="muted spaced">This link works once. Signed in as ${options.email}.</p>`;
  return layout({ title: 'Rotation task', organisation: ctx.organisation, csrfToken: ctx.csrfToken, signedInAs: options.email }, body);
}

/** An admin's list of a campaign's open owner tasks, each with an approve form. */
export function approvalsPage(ctx: PageContext, options: { email: string; campaignId: string; tasks: OwnerTaskView[]; notice?: string }): string {
  // The approve form sits in a row of its own under its task, so the table keeps three columns and
  // fits a phone's width instead of hiding the form off to the side.
  const rows: SafeHtml[] = options.tasks.map(
    ({ item, attesters }) => html`<tr class="task">
      <td>${item.name}<br><span class="muted">${item.kind} · ${item.system}</span></td>
      <td>${item.owner}</td>
      <td>${attesters.join(', ') || html`<span class="muted">nobody yet</span>`}</td></tr>
      <tr><td colspan="3">${item.believedUnused
        ? html`<span class="muted">Believed unused: only a revocation probed by a rotator closes it.</span>`
        : html`<form method="post" action="/campaigns/${options.campaignId}/approvals">
        <input type="hidden" name="_csrf" value="${ctx.csrfToken}"><input type="hidden" name="item" value="${item.key}">
        <textarea name="statement" maxlength="1000" rows="2" required aria-label="How you checked ${item.name}" placeholder="How you checked it"></textarea>
        <button class="secondary" type="submit">Approve ${item.name}</button></form>`}</td></tr>`,
  );
  const body = html`
    <h1>Owner tasks awaiting approval</h1>
    <p class="muted">Campaign ${options.campaignId}. A task closes on two attestations by two different people: its owner (through their link) and an administrator who is not the owner.</p>
    ${options.notice ? html`<div class="notice ok" role="status">${options.notice}</div>` : ''}
    ${rows.length > 0
      ? html`<div class="table-scroll"><table><thead><tr><th>Credential</th><th>Owner</th><th>Attested by</th></tr></thead><tbody>${rows}</tbody></table></div>`
      : html`<p>Nothing in this campaign is waiting for approval.</p>`}
    <div class="actions"><a class="button secondary" href="/account">Your account</a></div>`;
  return layout({ title: 'Approvals', organisation: ctx.organisation, csrfToken: ctx.csrfToken, signedInAs: options.email, wide: true }, body);
}
