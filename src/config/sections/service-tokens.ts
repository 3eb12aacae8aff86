import { z } from 'zod';

/** The anomalies `detectUseAnomalies` reports, by kind. */
export const SERVICE_TOKEN_ANOMALY_KINDS = ['believed_unused_used', 'new_network', 'new_app', 'after_silence'] as const;

/**
 * `service_tokens.anomalies:`. Suspension defaults to the use of a token believed unused only: that is
 * how the 2023 intrusion got in (one forgotten, never-rotated token), its legitimate use is rare, and
 * nobody is paged at night for a token its owner said was dead, so the token is refused until an
 * admin resumes it (fail closed). A new network, a new app or a long silence is common in honest
 * use (a CI runner moving subnet), so by default it alerts without cutting a pipeline off.
 */
const anomaliesSchema = z.strictObject({
  silence_days: z.number().int().min(1).max(3650).default(30).describe('A use after this many days without any (counted from the last use, or from creation) is an `after_silence` anomaly.'),
  suspend_on: z
    .array(z.enum(SERVICE_TOKEN_ANOMALY_KINDS))
    .max(SERVICE_TOKEN_ANOMALY_KINDS.length)
    .default(['believed_unused_used'])
    .describe(
      'Anomaly kinds that also suspend the token until an admin runs `gatehouse tokens resume` (`believed_unused_used`, `new_network`, `new_app`, `after_silence`); [] only alerts.',
    ),
  email_owner: z.boolean().default(true).describe("Email the token's owner (when the owner is an address and `incident.smtp` is set) as well as the responders' webhook."),
});

/**
 * `service_tokens:` section: machine-to-machine credentials. Every token expires: a credential that
 * lives forever is the one nobody remembers to rotate, so the maximum is enforced at creation and at
 * every rotation, and the overlap during which an old secret still works is bounded too.
 */
export const serviceTokensSchema = z
  .strictObject({
    default_ttl_days: z.number().int().min(1).max(3650).default(90).describe('Lifetime of a new service token when none is given, in days (a rotation keeps the expiry unless given a new lifetime).'),
    max_ttl_days: z.number().int().min(1).max(3650).default(365).describe('Longest lifetime a service token may be given, in days (creation and rotation are refused beyond it).'),
    max_overlap_hours: z
      .number()
      .min(0)
      .max(24 * 90)
      .default(168)
      .describe('Longest time the previous secret keeps working after a rotation with an overlap, in hours.'),
    last_use_flush_ms: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(5000)
      .describe('How often recorded use (time, address, app, user agent) is written to the database, in ms; also written on shutdown.'),
    last_use_max_pending: z
      .number()
      .int()
      .min(16)
      .max(1_000_000)
      .default(10_000)
      .describe('Most tokens whose use is held in memory between writes; when full, a write starts at once.'),
    anomalies: anomaliesSchema.prefault({}).describe('Alerts (and optional suspension) on unusual use of a token, found when recorded use is written.'),
  })
  .refine((section) => section.default_ttl_days <= section.max_ttl_days, {
    message: 'default_ttl_days must not exceed max_ttl_days',
    path: ['default_ttl_days'],
  });

export type ServiceTokensConfig = z.infer<typeof serviceTokensSchema>;
