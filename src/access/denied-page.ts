import type { PageAction } from '../portal/index.js';
import { explainDecision, reasonCode, type Decision } from './policy/index.js';

export interface DeniedPageInput {
  app: string;
  /** The address that was refused, on the app's own origin. */
  appUrl: string;
  portalUrl: string;
  /** The signed-in person, absent when nobody is (an IP block refuses before sign-in). */
  email: string | undefined;
  /** portal.access_request_url: `{app}` and `{email}` are replaced, URL-encoded. */
  accessRequestUrl: string | undefined;
  decision: Decision;
}

export interface DeniedPage {
  title: string;
  message: string;
  next: string;
  actions: PageAction[];
  signedInAs?: string;
}

/**
 * What a refused person sees: which app, which account was refused, why in plain words (never the
 * policy's detail: that is in the audit log), and two ways on — ask for access, or sign in with
 * another account (the portal asks before it signs out, and comes back here).
 */
export function deniedPage(input: DeniedPageInput): DeniedPage {
  const { app, appUrl, portalUrl, email } = input;
  const message = explainDecision(input.decision);
  const back = encodeURIComponent(appUrl);
  // A blocked network: another account or an access request would not help, and the portal refuses
  // this address too. Say what does.
  if (reasonCode(input.decision.reasons[0] ?? '') === 'ip_blocked') {
    return {
      title: `You cannot open ${app} from this network`,
      message,
      next: 'Your security team blocked this network address, often after a security incident. Try again from another network (your office network, or your phone without Wi-Fi), and tell your IT team, giving them the reference below.',
      actions: [{ href: appUrl, label: 'Try again' }],
      ...(email !== undefined ? { signedInAs: email } : {}),
    };
  }
  if (email === undefined) {
    return {
      title: `You cannot open ${app}`,
      message,
      next: 'If you think this is a mistake, tell your IT team and give them the reference below.',
      actions: [{ href: `${portalUrl}/sign-in?return_to=${back}`, label: 'Sign in' }],
    };
  }
  const actions: PageAction[] = [];
  const request = requestAccessHref(input.accessRequestUrl, app, email);
  if (request) actions.push({ href: request, label: 'Request access' });
  actions.push({ href: `${portalUrl}/sign-out?return_to=${back}`, label: 'Use another account', secondary: true });
  actions.push({ href: `${portalUrl}/account`, label: 'Your account', secondary: true });
  return {
    title: `You cannot open ${app}`,
    message,
    signedInAs: email,
    next: request
      ? `If you need ${app} for your work, request access. If it should be another of your accounts, sign in with that one.`
      : `If you need ${app} for your work, ask your IT team for access and give them the reference below. If it should be another of your accounts, sign in with that one.`,
    actions,
  };
}

function requestAccessHref(template: string | undefined, app: string, email: string): string | undefined {
  if (!template) return undefined;
  return template.replaceAll('{app}', encodeURIComponent(app)).replaceAll('{email}', encodeURIComponent(email));
}
