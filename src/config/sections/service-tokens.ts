import { z } from 'zod';

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
  })
  .refine((section) => section.default_ttl_days <= section.max_ttl_days, {
    message: 'default_ttl_days must not exceed max_ttl_days',
    path: ['default_ttl_days'],
  });

export type ServiceTokensConfig = z.infer<typeof serviceTokensSchema>;
