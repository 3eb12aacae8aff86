import { z } from 'zod';
import { parseCidr } from '../../lib/ip/ip-address.js';
import { policySchema } from './apps.js';

/**
 * `ssh:` section: the SSH certificate authority. User certificates are short-lived by design: a
 * stolen certificate (and the key it certifies) is useful for minutes, so there is nothing to revoke.
 * The bounds below keep a typo from turning a five-minute credential into a long-lived one.
 */

// A POSIX-portable login name (IEEE Std 1003.1 §3.437): what sshd compares against the principals.
const LOGIN = /^[a-z_][a-z0-9_.-]{0,31}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const login = z.string().regex(LOGIN, { error: (issue) => `${JSON.stringify(issue.input)} is not a login name (lowercase letters, digits, _ . -, at most 32)` });

const principalMappingSchema = z.strictObject({
  group: z.string().regex(GROUP, { error: (issue) => `${JSON.stringify(issue.input)} is not a group name` }).describe('A Gatehouse group.'),
  logins: z.array(login).min(1).max(32).describe('Unix logins a member of the group may use: the certificate principals sshd checks.'),
});

const cidr = z.string().superRefine((value, ctx) => {
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const criticalOptionsSchema = z.strictObject({
  force_command: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .describe('OpenSSH `force-command` critical option: the only command a user certificate may run (unset: any command).'),
  source_address: z
    .array(cidr)
    .max(64)
    .default([])
    .describe('OpenSSH `source-address` critical option: the client addresses (CIDR) a user certificate may be used from (empty: any).'),
});

const extensionsSchema = z.strictObject({
  permit_pty: z.boolean().default(true).describe('`permit-pty`: the certificate may open an interactive terminal.'),
  permit_port_forwarding: z.boolean().default(false).describe('`permit-port-forwarding`: the certificate may forward ports (ssh -L/-R/-D).'),
  permit_agent_forwarding: z.boolean().default(false).describe('`permit-agent-forwarding`: the certificate may forward the ssh agent (a server could use the agent while the session lasts).'),
  permit_x11_forwarding: z.boolean().default(false).describe('`permit-X11-forwarding`: the certificate may forward X11.'),
  permit_user_rc: z.boolean().default(false).describe('`permit-user-rc`: sshd runs the user\'s ~/.ssh/rc on login.'),
});

const APP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * An `ssh` app: no host and no upstream (the proxy never serves it), only the ordered access policies
 * that decide who gets a user certificate, in the grammar of `apps[].policies` and evaluated by the same
 * engine. They live here, not in `apps:`, so nothing that serves web apps ever sees an app without a host.
 */
const sshAppSchema = z
  .strictObject({
    name: z.string().regex(APP_NAME, 'app name must be a slug: lower-case letters, digits and "-", at most 63 characters').describe('Name given to `gatehouse ssh --app`, and written in the audit log.'),
    policies: z
      .array(policySchema)
      .min(1, 'policies needs at least one entry')
      .describe('Ordered: the first policy that matches decides; none matching denies. The request is method `SSH`, path `/`, from the client address of the certificate request.'),
  })
  .superRefine((app, ctx) => {
    app.policies.forEach((policy, i) => {
      // A bypass serves without an identity; a user certificate always names one.
      if (policy.action === 'bypass') ctx.addIssue({ code: 'custom', path: ['policies', i, 'action'], message: 'an ssh app issues certificates to people: use allow or block, not bypass' });
    });
  });

export const sshSchema = z
  .strictObject({
    user_cert_validity_minutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(5)
      .describe('Lifetime of a user certificate, in minutes (a stolen certificate works this long; sshd checks it only at login).'),
    clock_skew_seconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .default(60)
      .describe('A certificate is valid from this many seconds before it is issued, so a server whose clock is a little behind accepts it.'),
    principals: z
      .array(principalMappingSchema)
      .max(256)
      .default([])
      .describe('Group → login mappings: a user certificate names the logins of every group the user is in; a user in none gets no certificate.'),
    critical_options: criticalOptionsSchema.prefault({}).describe('Critical options written into every user certificate (a server that does not understand one refuses the certificate).'),
    extensions: extensionsSchema.prefault({}).describe('Extensions written into every user certificate (what the session may do once logged in).'),
    host_cert_validity_days: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(90)
      .describe('Lifetime of a host certificate (`gatehouse ssh host-cert`), in days.'),
    certificate_requests_per_minute: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(120)
      .describe('Certificate requests one client address may make per minute (POST /cli/ssh/certificate); beyond it `rate_limited`. Generous for people and scripts; a flood of guessed or revoked credentials stops before a database read each.'),
    apps: z
      .array(sshAppSchema)
      .max(64)
      .default([])
      .describe('SSH apps: each one\'s access policies (auth_method, auth_age, group, ip, time…) decide who gets a user certificate through `gatehouse ssh --app NAME`; none configured, the command line gets none.'),
    max_ca_overlap_hours: z
      .number()
      .min(0)
      .max(24 * 90)
      .default(24 * 30)
      .describe('Longest overlap `gatehouse ssh ca rotate --overlap` accepts, in hours: how long the previous CA stays trusted after a rotation.'),
  })
  .superRefine((section, ctx) => {
    const names = new Set<string>();
    section.apps.forEach((app, index) => {
      if (names.has(app.name)) ctx.addIssue({ code: 'custom', path: ['apps', index, 'name'], message: `ssh app "${app.name}" is defined twice` });
      names.add(app.name);
    });
    const seen = new Set<string>();
    section.principals.forEach((mapping, index) => {
      if (seen.has(mapping.group)) ctx.addIssue({ code: 'custom', path: ['principals', index, 'group'], message: `group "${mapping.group}" is mapped twice` });
      seen.add(mapping.group);
    });
  });

export type SshConfig = z.infer<typeof sshSchema>;
