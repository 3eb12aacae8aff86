import type { CliAuthorizeRequest } from '../identity/index.js';
import { html, layout } from './html.js';
import type { PageContext } from './pages.js';

/**
 * The consent page of `gatehouse login`. It names who is signed in and says the request comes from a
 * command line on this computer, so a person who followed someone else's link sees what they would
 * approve. The form repeats the checked authorize parameters; the POST checks them again.
 */
export function cliConsentPage(ctx: PageContext, options: { email: string; request: CliAuthorizeRequest }): string {
  const { request } = options;
  const body = html`
    <h1>Sign in the command line?</h1>
    <p>Sign in the Gatehouse command line on this computer as <strong>${options.email}</strong>?</p>
    <p class="muted">Approve only if you just ran <code>gatehouse login</code> yourself, on this computer. It will be able to ask for SSH certificates in your name until you sign out here or its sign-in expires.</p>
    <form method="post" action="/cli/authorize">
      <input type="hidden" name="_csrf" value="${ctx.csrfToken}">
      <input type="hidden" name="client_id" value="gatehouse-cli">
      <input type="hidden" name="response_type" value="code">
      <input type="hidden" name="code_challenge_method" value="S256">
      <input type="hidden" name="redirect_uri" value="${request.redirectUri}">
      <input type="hidden" name="code_challenge" value="${request.codeChallenge}">
      <input type="hidden" name="state" value="${request.state}">
      <button class="block" type="submit">Sign in the command line</button>
    </form>
    <p class="muted spaced">Did not run it? Close this page: nothing happens.</p>`;
  return layout({ title: 'Command-line sign-in', organisation: ctx.organisation, csrfToken: ctx.csrfToken, signedInAs: options.email }, body);
}

export function cliDonePage(ctx: PageContext): string {
  return layout({ title: 'Command-line sign-in', organisation: ctx.organisation }, html`<h1>You can close this page</h1><p>The command line is signing in.</p>`);
}
