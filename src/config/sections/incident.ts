import { z } from 'zod';
import { isLoopbackHost } from './server.js';

export const incidentSmtpSchema = z.strictObject({
  host: z.string().min(1).describe('SMTP server host name or address.'),
  port: z.number().int().min(1).max(65535).default(587).describe('SMTP port (587 submission with STARTTLS, 465 implicit TLS, 25 relay).'),
  secure: z.boolean().default(false).describe('Implicit TLS from the first byte (port 465). With false, STARTTLS is required (see `require_tls`).'),
  require_tls: z
    .boolean()
    .optional()
    .describe('Refuse to send unless STARTTLS (RFC 3207) succeeds. Default: true, except for a loopback host; false is allowed only for a loopback host.'),
  user: z.string().min(1).optional().describe('SMTP user name, when the server wants authentication.'),
  password: z.string().min(1).optional().describe('SMTP password; write `${env:NAME}` to keep it out of the file.'),
  from: z.string().min(3).describe('Sender of incident mail, e.g. `"Acme Security" <security@acme.com>`.'),
  pool_size: z.number().int().min(1).max(50).default(5).describe('Parallel SMTP connections while warning everyone.'),
  // A mail server that accepts the connection and then says nothing must not hold a playbook step
  // (or `incident resume`) forever: each wait below ends the send with an `smtp_timeout` error.
  connection_timeout_ms: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(10_000)
    .describe('How long connecting to the mail server may take in all (TCP, the TLS handshake with `secure`, the greeting), in ms.'),
  greeting_timeout_ms: z
    .number()
    .int()
    .min(100)
    .max(120_000)
    .default(10_000)
    .describe('How long to wait for the server greeting (RFC 5321 §4.5.3.2.1 "220" line) once connected, in ms.'),
  socket_timeout_ms: z
    .number()
    .int()
    .min(100)
    .max(300_000)
    .default(30_000)
    .describe('Longest silence from the server at any later point (EHLO, AUTH, MAIL, mid-DATA), in ms; then the connection is dropped and the send fails.'),
})
  // Opportunistic STARTTLS is stripped by anyone on the path (RFC 3207 §6), and incident mail carries
  // enrollment links and the SMTP password: plain text is accepted only where it never leaves the machine.
  .refine((smtp) => smtp.secure || smtp.require_tls !== false || isLoopbackHost(smtp.host), {
    message: 'mail to a non-loopback host must use TLS: set secure: true (port 465) or leave require_tls on',
    path: ['require_tls'],
  });

/** Whether nodemailer must insist on STARTTLS: always, unless implicit TLS or a loopback relay. */
export function smtpRequiresStartTls(smtp: IncidentSmtpConfig): boolean {
  return !smtp.secure && (smtp.require_tls ?? !isLoopbackHost(smtp.host));
}

/** `incident:` section: how the one-command playbook notifies, hunts and alerts. */
export const incidentSchema = z.strictObject({
  webhook_url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Chat webhook (Slack-compatible JSON `{ text, blocks }`) for incident warnings and alerts; write `${env:NAME}` to keep the secret URL out of the file.'),
  webhook_timeout_ms: z.number().int().min(100).max(60_000).default(5000).describe('How long one webhook delivery may take, in ms.'),
  smtp: incidentSmtpSchema.optional().describe('Mail server for warnings and fresh enrollment links. Without it, email steps are recorded as skipped.'),
  notify_all_users: z.boolean().default(true).describe('Warn every active user by email; with false only the contained users are written to.'),
  strict_new_domains_on_incident: z
    .boolean()
    .default(true)
    .describe('Turn on strict new-domain isolation in the DNS gateway (young domains blocked instead of warned) when an incident names indicator domains. `gatehouse dns lists` shows it; `gatehouse dns strict off` or `incident close ID --lift-blocks` ends it (docs/operations.md).'),
  hunt_window_hours: z.number().positive().max(24 * 90).default(24).describe('How far back the playbook hunts for password-without-key sign-ins, in hours.'),
  auto_declare_on_lookalike: z
    .boolean()
    .default(false)
    .describe('Declare an incident by itself when a DNS query names a lookalike of a protected brand (the alert is raised either way).'),
  alert_cooldown_minutes: z
    .number()
    .min(0)
    .max(7 * 24 * 60)
    .default(60)
    .describe('One alert per lookalike domain (and per admin-group addition) in this many minutes, across every instance.'),
  admin_watch_interval_ms: z.number().int().min(100).max(3_600_000).default(5000).describe('How often each instance looks for new admin-group members to alert on, in ms.'),
});

export type IncidentConfig = z.infer<typeof incidentSchema>;
export type IncidentSmtpConfig = z.infer<typeof incidentSmtpSchema>;
