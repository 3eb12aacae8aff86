import { z } from 'zod';

export const identitySchema = z.strictObject({
  invite_ttl_hours: z.number().positive().max(24 * 30).default(24).describe('Lifetime of an enrollment link, in hours. Links are single use.'),
  admin_groups: z.array(z.string().min(1)).default(['admins']).describe('Members of these groups may use the admin console and API.'),
  legacy: z
    .strictObject({
      password: z.boolean().default(false).describe('Allow password sign-in (argon2id). Legacy factor, off by default.'),
      totp: z.boolean().default(false).describe('Allow TOTP (RFC 6238) as the second factor after a password.'),
      allow_downgrade: z
        .boolean()
        .default(false)
        .describe('Let a user who has a security key sign in with password+TOTP. Never do this: a phishing relay can replay both.'),
    })
    .default({ password: false, totp: false, allow_downgrade: false })
    .describe('Password and TOTP, for migration only. A relay on a lookalike domain can phish both.'),
});

export const sessionsSchema = z.strictObject({
  cookie_name: z.string().regex(/^[A-Za-z0-9_-]+$/).default('gatehouse_session').describe('Name of the portal session cookie (host-only).'),
  idle_timeout_minutes: z.number().positive().default(8 * 60).describe('A session unused this long ends, in minutes.'),
  absolute_timeout_hours: z.number().positive().default(24).describe('A session ends this long after sign-in whatever its use, in hours.'),
});

export const portalSchema = z.strictObject({
  organisation: z.string().min(1).default('Gatehouse').describe('Name shown on the portal pages.'),
  sign_in_rate_per_minute: z.number().int().positive().default(30).describe('Sign-in attempts allowed per client address per minute.'),
});

export const loggingSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
});

export type IdentityConfig = z.infer<typeof identitySchema>;
export type SessionsConfig = z.infer<typeof sessionsSchema>;
export type PortalConfig = z.infer<typeof portalSchema>;
