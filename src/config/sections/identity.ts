import { z } from 'zod';

export const identitySchema = z.strictObject({
  invite_ttl_hours: z
    .number()
    .positive()
    .max(24 * 30)
    .default(8)
    .describe('Lifetime of an enrollment link, in hours (fractions allowed). Links are single use and a bearer secret: whoever opens one first enrolls a key, so keep it short.'),
  pending_key_minutes: z
    .number()
    .positive()
    .max(60)
    .default(10)
    .describe('A newly registered key must sign in once (an assertion against the real origin) within this many minutes, or it is discarded unused.'),
  key_change_window_minutes: z
    .number()
    .positive()
    .max(60)
    .default(5)
    .describe('Adding, renaming or removing a key needs a security-key proof this recent, in minutes; otherwise the page asks for a touch of an existing key first.'),
  admin_write_window_minutes: z
    .number()
    .positive()
    .max(120)
    .default(10)
    .describe('Admin actions that change state need a security-key proof this recent, in minutes; reads need only an admin session with a key proof.'),
  admin_groups: z.array(z.string().min(1)).default(['admins']).describe('Members of these groups may use the admin console and API.'),
  legacy: z
    .strictObject({
      password: z.boolean().default(false).describe('Allow password sign-in (argon2id). Legacy factor, off by default.'),
      totp: z.boolean().default(false).describe('Allow TOTP (RFC 6238) as the second factor after a password.'),
      allow_downgrade: z
        .boolean()
        .default(false)
        .describe('Let a user who has a security key sign in with password+TOTP. Never do this: a phishing relay can replay both.'),
      max_failures: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(10)
        .describe('Failed password sign-ins allowed per account (known or not) in one lockout window, counted across every instance; then every attempt is refused until the window ends, even with the right password.'),
      lockout_minutes: z
        .number()
        .positive()
        .max(24 * 60)
        .default(15)
        .describe('Length of the window in which failed password sign-ins are counted per account, in minutes.'),
    })
    .default({ password: false, totp: false, allow_downgrade: false, max_failures: 10, lockout_minutes: 15 })
    .describe('Password and TOTP, for migration only. A relay on a lookalike domain can phish both.'),
});

export const sessionsSchema = z.strictObject({
  cookie_name: z.string().regex(/^[A-Za-z0-9_-]+$/).default('gatehouse_session').describe('Name of the portal session cookie (host-only).'),
  idle_timeout_minutes: z.number().positive().default(8 * 60).describe('A session unused this long ends, in minutes.'),
  absolute_timeout_hours: z.number().positive().default(24).describe('A session ends this long after sign-in whatever its use, in hours.'),
  cache_entries: z.number().int().positive().default(100_000).describe('Validated sessions each instance keeps in memory; the least recently used is dropped first.'),
  cache_ttl_seconds: z.number().positive().max(3600).default(60).describe('A cached session is read again from the database after this many seconds, so a change that missed the feed still takes effect.'),
  cli_credential_hours: z
    .number()
    .positive()
    .max(24 * 7)
    .default(12)
    .describe('Lifetime of the credential `gatehouse login` gives the command line, in hours; never beyond its browser session, and revoking that session ends it.'),
});

export const portalSchema = z.strictObject({
  organisation: z.string().min(1).default('Gatehouse').describe('Name shown on the portal pages.'),
  sign_in_rate_per_minute: z.number().int().positive().default(30).describe('Sign-in attempts allowed per client address per minute.'),
  access_request_url: z
    .string()
    .max(2048)
    .regex(/^(https:\/\/|mailto:)\S+$/, 'must be an https: or mailto: URL')
    .optional()
    .describe(
      'Where a person refused by an app asks for access: an `https:` or `mailto:` URL, in which `{app}` and `{email}` are replaced (URL-encoded). The refusal page links it as "Request access"; unset, the page tells the person to ask their IT team, with no link.',
    ),
});

export const loggingSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
});

export type IdentityConfig = z.infer<typeof identitySchema>;
export type SessionsConfig = z.infer<typeof sessionsSchema>;
export type PortalConfig = z.infer<typeof portalSchema>;
