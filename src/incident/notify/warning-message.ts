import type { Indicators } from '../indicators.js';
import type { WebhookMessage } from './webhook-sender.js';

export interface WarningContext {
  incidentId: string;
  title: string;
  organisation: string;
  /** The only address where anyone should sign in. */
  portalUrl: string;
  indicators: Indicators;
}

function lookouts(ctx: WarningContext): string[] {
  const lines: string[] = [];
  if (ctx.indicators.domains.length > 0) {
    lines.push(`Do not open links to ${ctx.indicators.domains.map((d) => defang(d)).join(', ')} or any address that only looks like ours. It is a fake sign-in page.`);
  }
  lines.push(`Sign in only at ${ctx.portalUrl}. Type it yourself or use your bookmark.`);
  lines.push('We will never ask for your password or your code by text message, phone or chat. Never type your code into a page you reached from a message.');
  lines.push('Your security key only works on our real sign-in page: if it does not work on a page, that page is fake. Close it.');
  lines.push('If you entered your password or a code anywhere in the last day, tell the security team now. You are not in trouble.');
  return lines;
}

/** `acme-okta.com` becomes `acme-okta[.]com`: named in a warning without becoming a clickable link. */
export function defang(domain: string): string {
  return domain.replace(/\.(?=[^.]+$)/, '[.]');
}

export function warningEmail(ctx: WarningContext): { subject: string; text: string } {
  return {
    subject: `[${ctx.organisation} security] Phishing attack in progress: ${ctx.title}`.slice(0, 200),
    text: [
      `${ctx.organisation} security team: a phishing attack is under way (${ctx.title}).`,
      '',
      'What to look out for:',
      ...lookouts(ctx).map((line) => `  - ${line}`),
      '',
      `Incident reference: ${ctx.incidentId}`,
    ].join('\n'),
  };
}

export function inviteEmail(ctx: WarningContext, enrollUrl: string, expiresAt: number): { subject: string; text: string } {
  return {
    subject: `[${ctx.organisation} security] Register a security key to keep your access`.slice(0, 200),
    text: [
      `As part of our response to a phishing attack (${ctx.title}), your password and code no longer work and you were signed out.`,
      '',
      `Register a security key or passkey with this one-time link (valid until ${new Date(expiresAt).toISOString()}):`,
      enrollUrl,
      '',
      `The link opens ${new URL(enrollUrl).origin}. If a message ever sends you to another address to sign in, it is not from us.`,
      'We will never ask for your password or your code by text message, phone or chat.',
      '',
      `Incident reference: ${ctx.incidentId}`,
    ].join('\n'),
  };
}

export function warningWebhook(ctx: WarningContext, summary: { containedUsers: number; revokedSessions: number }): WebhookMessage {
  const text = `:rotating_light: Incident declared: ${ctx.title} (${ctx.incidentId}). ${summary.containedUsers} user(s) contained, ${summary.revokedSessions} session(s) revoked.`;
  const indicatorLines = [
    ...ctx.indicators.domains.map((d) => `domain ${defang(d)}`),
    ...ctx.indicators.ips.map((ip) => `address ${ip}`),
    ...ctx.indicators.urls.map((u) => `url ${u.replace(/^http/, 'hxxp')}`),
  ];
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `Incident: ${ctx.title}`.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text } },
      ...(indicatorLines.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: `*Indicators*\n${indicatorLines.slice(0, 50).join('\n')}` } }] : []),
      { type: 'section', text: { type: 'mrkdwn', text: `*Tell everyone*\n${lookouts(ctx).join('\n')}` } },
    ],
  };
}
