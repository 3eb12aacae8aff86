import { z } from 'zod';
import { parseCidr } from '../../lib/ip/ip-address.js';
import { pathPatternProblem } from '../../lib/path-pattern.js';
import { DAY_NAMES, isValidTimeZone } from '../../lib/zoned-week-clock.js';

/**
 * The `apps:` and `access:` sections: which hosts the identity-aware proxy serves, where it sends
 * them, and the ordered policies that decide each request (evaluated by src/access/policy).
 * Longer than most sections because the selector grammar lives here; every rule that can be
 * checked without a request is checked here, so a bad policy is refused at load, never at 3 a.m.
 */

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const HOURS = /^([01][0-9]|2[0-3]):([0-5][0-9])-(([01][0-9]|2[0-3]):([0-5][0-9])|24:00)$/;
/** RFC 9110 §5.6.2 token, as an HTTP method name. */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 6265 §4.1.1 cookie-name (a token). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** As many as the default pool: a burst up to twice the pool's size is served; past that, a fast 503 beats a 30 s wait. */
export const DEFAULT_MAX_QUEUED_REQUESTS = 256;
/**
 * A browser opens about 6 connections per host; ten busy tabs, or a small office behind one NAT
 * address, stay under 64. One client can then hold at most a quarter of the default pool of 256.
 */
export const DEFAULT_MAX_REQUESTS_PER_CLIENT = 64;

const slug = (what: string) =>
  z.string().regex(SLUG, `${what} must be a slug: lower-case letters, digits and "-", at most 63 characters`);

const cidr = z.string().superRefine((value, ctx) => {
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const cidrList = (what: string) => z.array(cidr).describe(what);

const nonEmptyList = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item).min(1, `${what} needs at least one entry`);

export const AUTH_METHODS = ['phishing_resistant', 'hwk', 'swk', 'otp', 'pwd'] as const;
export type AuthMethodName = (typeof AUTH_METHODS)[number];

/** Selectors that read the signed-in identity; a `bypass` policy serves requests without one. */
export const IDENTITY_SELECTORS = ['email', 'email_domain', 'group', 'auth_method', 'auth_age'] as const;
/**
 * Selectors that read a verified service token (a machine's credential). Only they can let a request
 * without a person through an `allow`; a token never satisfies an identity selector, a person never
 * satisfies these. A `bypass` serves without any credential, so it may not name one.
 */
export const SERVICE_TOKEN_SELECTORS = ['service_token', 'service_token_tag'] as const;

const hoursRange = z.string().superRefine((value, ctx) => {
  const m = HOURS.exec(value);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `hours "${value}" must look like "09:00-17:30" (24-hour, end may be 24:00)` });
    return;
  }
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = m[3] === '24:00' ? 1440 : Number(m[4]) * 60 + Number(m[5]);
  if (start >= end) {
    ctx.addIssue({ code: 'custom', message: `hours "${value}" must end after it starts; split a range over midnight in two` });
  }
});

const timeWindow = z
  .strictObject({
    days: nonEmptyList(z.enum(DAY_NAMES, { error: (i) => `unknown day ${JSON.stringify(i.input)}; use ${DAY_NAMES.join(', ')}` }), 'days')
      .default([...DAY_NAMES])
      .describe('Days of the week the window is open, in the time zone (mon..sun). Default: every day.'),
    hours: nonEmptyList(hoursRange, 'hours')
      .default(['00:00-24:00'])
      .describe('Local time ranges "HH:MM-HH:MM" (start inclusive, end exclusive). Default: all day.'),
    time_zone: z
      .string()
      .refine(isValidTimeZone, { error: (i) => `unknown IANA time zone ${JSON.stringify(i.input)}` })
      .default('UTC')
      .describe('IANA time zone the days and hours are read in, e.g. "Europe/Paris".'),
  })
  .describe('Matches when the request time falls on one of the days and inside one of the hour ranges.');

const authMethod = z.enum(AUTH_METHODS, {
  error: (i) => `unknown auth_method ${JSON.stringify(i.input)}; use ${AUTH_METHODS.join(', ')}`,
});

export const selectorSchema = z
  .strictObject(
    {
      everyone: z.literal(true).optional().describe('Matches every request (write `everyone: true`).'),
      email: nonEmptyList(z.string().regex(/^[^@\s]+@[^@\s]+$/, 'not an email address'), 'email')
        .transform((list) => list.map((e) => e.toLowerCase()))
        .optional()
        .describe('Matches when the user email is one of these (case-insensitive).'),
      email_domain: nonEmptyList(z.string().regex(/^@?[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/, 'not a domain name'), 'email_domain')
        .transform((list) => list.map((d) => d.replace(/^@/, '').toLowerCase()))
        .optional()
        .describe('Matches when the user email domain is exactly one of these (no subdomains).'),
      group: nonEmptyList(z.string().min(1), 'group').optional().describe('Matches when the user is in any of these groups (exact names).'),
      ip: nonEmptyList(cidr, 'ip').optional().describe('Matches when the client address is in any of these IPv4/IPv6 CIDRs.'),
      auth_method: z
        // A single method may be written without brackets: `auth_method: phishing_resistant`.
        .preprocess((v) => (typeof v === 'string' ? [v] : v), nonEmptyList(authMethod, 'auth_method'))
        .optional()
        .describe('Matches when the session AMR holds any of these; phishing_resistant means hwk or swk.'),
      auth_age: z
        .number()
        .int('auth_age is whole minutes')
        .min(1, 'auth_age must be at least 1 minute')
        .max(525_600, 'auth_age is at most a year (525600 minutes)')
        .optional()
        .describe('Maximum minutes since the last phishing-resistant proof; older sessions are sent to step up.'),
      time: timeWindow.optional(),
      method: nonEmptyList(z.string().regex(METHOD, 'not an HTTP method'), 'method')
        .transform((list) => list.map((m) => m.toUpperCase()))
        .optional()
        .describe('Matches these HTTP methods (case-insensitive).'),
      path: nonEmptyList(
        z.string().superRefine((value, ctx) => {
          const problem = pathPatternProblem(value);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
        'path',
      )
        .optional()
        .describe('Path prefixes ("/admin" covers "/admin/x", not "/administrator") or globs ("*" one segment, "**" any).'),
      service_token: nonEmptyList(slug('service token name'), 'service_token')
        .optional()
        .describe('Matches a request authenticated by a service token with one of these names (see `gatehouse tokens list`); never a signed-in person. In an allow policy, lets the token in without a browser session.'),
      service_token_tag: nonEmptyList(slug('service token tag'), 'service_token_tag')
        .optional()
        .describe('Matches a request authenticated by a service token carrying any of these tags; never a signed-in person.'),
    },
    { error: (i) => (i.code === 'unrecognized_keys' ? `unknown selector ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : undefined) },
  )
  .superRefine((selector, ctx) => {
    const keys = Object.keys(selector).filter((k) => selector[k as keyof typeof selector] !== undefined);
    if (keys.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: keys.length === 0 ? 'empty selector: write one key such as `group: [eng]`' : `one selector per entry, found ${keys.join(', ')}: split them into separate entries`,
      });
    }
    // Only once the keys themselves are valid: `{ grop: [x] }` should say "unknown selector", not also "empty".
  }, { when: (payload) => payload.issues.length === 0 })
  .describe('One condition, written as a single key: everyone, email, email_domain, group, ip, auth_method, auth_age, time, method, path, service_token or service_token_tag.');

export const policySchema = z
  .strictObject({
    name: slug('policy name').optional().describe('Name shown in decisions and the audit log; default "policies[i]".'),
    action: z.enum(['allow', 'block', 'bypass']).describe('allow: signed-in users who match, or service tokens a service_token/service_token_tag selector of the policy names; block: deny; bypass: serve without any identity (health checks).'),
    include: nonEmptyList(selectorSchema, 'include').describe('The policy applies when ANY of these match.'),
    require: z.array(selectorSchema).default([]).describe('...and ALL of these match.'),
    exclude: z.array(selectorSchema).default([]).describe('...and NONE of these match.'),
  })
  .superRefine((policy, ctx) => {
    for (const list of ['include', 'require', 'exclude'] as const) {
      policy[list].forEach((selector, i) => {
        if (policy.action === 'bypass') {
          for (const key of IDENTITY_SELECTORS) {
            if (selector[key] !== undefined) {
              ctx.addIssue({ code: 'custom', path: [list, i], message: `bypass policies serve requests without identity; selector "${key}" needs one` });
            }
          }
          for (const key of SERVICE_TOKEN_SELECTORS) {
            if (selector[key] !== undefined) {
              ctx.addIssue({ code: 'custom', path: [list, i], message: `bypass policies serve requests without any credential; use action allow with selector "${key}"` });
            }
          }
        }
        if (list === 'exclude' && selector.auth_age !== undefined) {
          ctx.addIssue({ code: 'custom', path: [list, i], message: 'auth_age belongs in require (or include): it asks for a fresh key touch' });
        }
      });
    }
  });

function upstreamProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `upstream "${value}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `upstream "${value}" must be http or https`;
  if (url.username || url.password) return 'upstream must not carry credentials in the URL';
  if (url.search || url.hash) return `upstream "${value}" must not have a query or fragment`;
  return undefined;
}

/**
 * How an app is reached upstream: timeouts, Host and the overload bounds. One definition for the app
 * config and the proxy, which validates the same fields when it is given apps directly.
 */
export const appUpstreamFields = {
  connect_timeout_ms: z.number().int().min(1).max(120_000).default(5_000).describe('Connect timeout to the upstream, in ms; exceeded: 504 page.'),
  response_timeout_ms: z
    .number()
    .int()
    .min(1)
    .max(3_600_000)
    .default(30_000)
    .describe('From the request arriving (time queued for a connection counts) to the upstream response headers, in ms; upload progress restarts it; exceeded: 504 page.'),
  idle_timeout_ms: z.number().int().min(0).max(3_600_000).default(300_000).describe('Longest silence inside an upstream response body, in ms (0: no limit).'),
  preserve_host: z.boolean().default(false).describe('Send the client Host header upstream instead of the upstream URL host.'),
  max_connections: z.number().int().min(1).max(10_000).default(256).describe('Keep-alive connections to this upstream at most; further requests queue.'),
  // Overload bounds: without them one endpoint that never answers fills the pool and its queue, and
  // every user of the app waits out the response timeout (see access/proxy/client-in-flight-limit).
  max_queued_requests: z
    .number()
    .int()
    .min(0)
    .max(100_000)
    .default(DEFAULT_MAX_QUEUED_REQUESTS)
    .describe('Requests waiting for a free upstream connection at most (0: no queue); beyond it: 503 upstream_queue_full with Retry-After.'),
  max_requests_per_client: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(DEFAULT_MAX_REQUESTS_PER_CLIENT)
    .describe('Requests one client address (IPv6: one /64) may have in flight to this app at once (queued, upstream, or a WebSocket handshake; an open tunnel does not count); beyond it: 429 client_concurrency_limit with Retry-After.'),
};

export const appSchema = z
  .strictObject({
    name: slug('app name').describe('Stable id of the app (a slug), used in logs, metrics and the CLI.'),
    host: z
      .string()
      .transform((h) => h.toLowerCase())
      .pipe(z.string().regex(HOSTNAME, 'host must be a DNS name such as wiki.acme.test, without port or scheme'))
      .describe('Public host name the proxy serves this app on, e.g. wiki.acme.test.'),
    upstream: z
      .string()
      .superRefine((value, ctx) => {
        const problem = upstreamProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe('Base URL of the app behind the proxy, http or https, e.g. http://127.0.0.1:8080.'),
    policies: nonEmptyList(policySchema, 'policies').describe('Ordered: the first policy that matches decides; none matching denies.'),
    ...appUpstreamFields,
    case_sensitive_paths: z
      .boolean()
      .default(false)
      .describe(
        'false: `path` selectors ignore case, as Express, ASP.NET and IIS route paths ("/admin" also covers "/ADMIN"). true: compare case exactly, for upstreams that serve "/ADMIN" and "/admin" as different resources (nginx, Go, most static servers), so an allow on "/public" does not also open "/PUBLIC".',
      ),
  })
  .superRefine((app, ctx) => {
    const seen = new Map<string, number>();
    app.policies.forEach((p, i) => {
      if (p.name === undefined) return;
      const first = seen.get(p.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['policies', i, 'name'], message: `duplicate policy name "${p.name}" (also policies[${first}])` });
      else seen.set(p.name, i);
    });
  });

export const appsSchema = z
  .array(appSchema)
  .default([])
  .superRefine((apps, ctx) => {
    for (const field of ['name', 'host'] as const) {
      const seen = new Map<string, number>();
      apps.forEach((app, i) => {
        const first = seen.get(app[field]);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, field], message: `duplicate app ${field} "${app[field]}" (also apps[${first}])` });
        else seen.set(app[field], i);
      });
    }
  })
  .describe('Apps behind the identity-aware proxy.');

export const accessSchema = z
  .strictObject({
    blocked_ips: cidrList('Client CIDRs denied before any app policy (IPv4/IPv6).').default([]),
    trusted_proxies: cidrList('CIDRs of proxies whose X-Forwarded-For, X-Forwarded-Proto and Forwarded proto are believed; empty trusts none.').default([]),
    session_cookie_name: z
      .string()
      .regex(COOKIE_NAME, 'session_cookie_name must be an RFC 6265 token')
      .default('gatehouse_app_session')
      .describe('Name of the per-app session cookie the proxy sets (`__Host-` prefixed on https). Distinct from the portal cookie.'),
    jwt_ttl_seconds: z
      .number()
      .int()
      .min(5, 'jwt_ttl_seconds must be at least 5')
      .max(3600, 'jwt_ttl_seconds must be at most 3600')
      .default(60)
      .describe('Lifetime in seconds of the signed identity JWT sent to upstreams.'),
  })
  .prefault({})
  .describe('Global access rules and proxy settings.');

export type SelectorConfig = z.output<typeof selectorSchema>;
export type PolicyConfig = z.output<typeof policySchema>;
export type AppConfig = z.output<typeof appSchema>;
export type AccessConfig = z.output<typeof accessSchema>;
export type TimeWindowConfig = NonNullable<SelectorConfig['time']>;
