import { z } from 'zod';
import { parseCidr } from '../../lib/ip/ip-address.js';

const cidr = z.string().superRefine((value, ctx) => {
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

/**
 * "Report something suspicious": people forward a lure; Gatehouse triages it and, past a threshold,
 * blocks the domain. Threat: report flooding to force a block of a legitimate domain. Only distinct
 * identified reporters count towards the threshold, and some domains are never blocked by a report.
 */
export const reportsSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Serve the portal page `/report` and accept reports.'),
  threshold_reporters: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(3)
    .describe('Escalate a group when this many distinct identified reporters (signed in, or a directory user by the intake) report the same lure within `window_minutes`. Anonymous reports never count.'),
  window_minutes: z.number().int().min(1).max(10_080).default(30).describe('The window of `threshold_reporters`, in minutes.'),
  escalate_young_lookalike: z.boolean().default(true).describe('Escalate at once when a reported domain looks like a protected brand and is young (the gateway blocks it).'),
  allow_anonymous: z.boolean().default(false).describe('Accept reports from people who are not signed in (they never count towards the threshold).'),
  never_block: z
    .array(z.string().min(1).max(253))
    .max(10_000)
    .default([])
    .describe('Domains (and their subdomains) a report never blocks, beside `dns.protect.domains` and the portal host: popular services whose links appear in harmless mail.'),
  max_body_bytes: z.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024).describe('Largest report (pasted text or forwarded message) accepted; larger ones are refused, never truncated.'),
  per_address_per_hour: z.number().int().min(1).max(10_000).default(30).describe('Reports accepted per client address (portal) per hour.'),
  responders: z.array(z.email()).max(100).default([]).describe('Who is alerted by email when a group escalates.'),
  intake: z
    .strictObject({
      host: z.string().default('127.0.0.1').describe('Address the SMTP intake listens on (behind your mail relay).'),
      port: z.number().int().min(0).max(65535).describe('SMTP intake port; 0 picks a free one (tests).'),
      domain: z.string().min(1).describe('The intake address is `report@<domain>`; mail to any other recipient is refused.'),
      trust_sender: z
        .boolean()
        .default(false)
        .describe('Treat the sender as identified when the message comes from one of `trusted_relays`, the From: header and the envelope sender agree and name a directory user. Turn on only behind a relay that enforces DMARC on your own domain: the envelope sender and From: are claims anyone can write. Off, intake reports are anonymous (they never count towards the threshold and get no reply).'),
      trusted_relays: z
        .array(cidr)
        .max(100)
        .default(['127.0.0.1/32', '::1/128'])
        .describe('CIDRs of the mail relays whose connections may carry an identified sender (with `trust_sender`). A message from any other address is anonymous, whatever it claims.'),
    })
    .optional()
    .describe('The SMTP intake for forwarded lures. Absent: no listener.'),
  webhook: z
    .strictObject({
      app: z
        .string()
        .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'app must be a slug')
        .default('report-intake')
        .describe('The name a service token lists in its apps to post to `POST /api/reports/intake` (`gatehouse token create --app report-intake`). It shares one namespace with `apps[].name` (a token lists both alike), so a config where an app has this name is refused at load.'),
      per_token_per_hour: z.number().int().min(1).max(100_000).default(600).describe('Reports accepted per service token per hour; past it, 429 `report_rate_limited`.'),
      idempotency_hours: z
        .number()
        .int()
        .min(1)
        .max(168)
        .default(24)
        .describe('How long an `Idempotency-Key` is remembered (per token, as a SHA-256): a retry with the same key and body inside it gets the first answer and files nothing; the same key with another body is 422 `report_intake_idempotency_key_reused`.'),
      trust_sender: z
        .boolean()
        .default(false)
        .describe('Treat the body\'s `from` as identified when it names a directory user. Turn on only for a gateway that verifies senders (DMARC): the token holder can write any `from`. Off, webhook reports are anonymous.'),
    })
    .optional()
    .describe('The inbound webhook for a mail or SMS gateway\'s forward (`POST /api/reports/intake`, service-token authenticated). Absent: the route answers 404.'),
});

export type ReportsConfig = z.infer<typeof reportsSchema>;
