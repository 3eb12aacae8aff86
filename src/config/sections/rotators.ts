import { z } from 'zod';
import { looksLikeSecret } from '../../lib/secret-shape.js';

/**
 * `rotators:` section: the named rotator instances a rotation campaign may use for credentials outside
 * Gatehouse, by the name an inventory item gives in its `rotator` column.
 *
 * The threat this section guards against is the config file becoming a second copy of the secrets:
 * a value that is a file path must look like one (a pasted private key or a random string is refused,
 * naming the path and never echoing the value), a connection URL may carry no password (it comes from
 * `admin_password_file` or `admin_password: ${env:NAME}`), and a command's argv, which every local
 * user can read in the process list, may hold nothing secret-looking.
 */

/** Names as the inventory's `rotator` column accepts them; the token rotator's name is Gatehouse's own. */
const ROTATOR_NAME = /^[a-z][a-z0-9-]{0,59}$/;
const RESERVED_NAMES = ['gatehouse-service-token'];

/** A file path (absolute, or relative to the config file), never the secret it holds. */
const filePath = (what: string) =>
  z
    .string()
    .min(1)
    .max(4096)
    .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), { message: `must be the path of ${what}, not its content (it holds control characters)`, abort: true })
    .refine((value) => !looksLikeSecret(value), { message: `must be the path of ${what}; this looks like the secret itself, which must stay out of the config file` });

const timeoutMs = (fallback: number, what: string) => z.number().int().min(100).max(600_000).default(fallback).describe(`${what}, in ms.`);

/** An argv array from configuration: no shell, an absolute program, nothing secret-looking. */
const argvSchema = z
  .array(z.string().min(1).max(4096).refine((arg) => !arg.includes('\0'), { message: 'holds a NUL byte' }))
  .min(1)
  .max(64)
  .superRefine((argv, ctx) => {
    // A relative program is looked up on PATH, which someone else may control.
    if (!(argv[0] ?? '').startsWith('/')) ctx.addIssue({ code: 'custom', path: [0], message: 'must be an absolute path to the program' });
    argv.forEach((arg, index) => {
      // Every local user can read a process's argv (ps, /proc/PID/cmdline).
      if (looksLikeSecret(arg)) ctx.addIssue({ code: 'custom', path: [index], message: 'looks like a secret; argv is visible to every local user, so a command must read secrets from a file or its stdin' });
    });
  });

const commandSchema = z.strictObject({
  argv: argvSchema.describe('The program (an absolute path) and its arguments; run without a shell, with no environment but PATH.'),
  timeout_ms: timeoutMs(60_000, 'How long the command may run before it is killed'),
});

/** Where a rotator puts each new secret, and where it finds the one in use for the old-credential probe. */
const sinkSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('directory').describe('One file per credential, mode 0600, replaced atomically (written beside and renamed).'),
      path: filePath('the directory').describe('The directory (absolute, or relative to this file); created with mode 0700 if missing.'),
      file_name: z
        .string()
        .regex(/^[A-Za-z0-9_.@{}-]+$/, 'may hold only letters, digits, `_ . @ -` and the placeholders {name} and {item}')
        .refine((name) => /\{(name|item)\}/.test(name) && !/\{(?!name\}|item\})/.test(name), { message: 'must contain {name} or {item}, and no other placeholder' })
        .default('{name}.secret')
        .describe('File name per credential: `{name}` is the inventory item name, `{item}` its id. The file holds the secret in use: the probe reads it as the old one before it is replaced.'),
    })
    .describe('Write each new secret to a file in a directory.'),
  z
    .strictObject({
      type: z.literal('exec').describe('Hand each new secret to a command.'),
      deliver: commandSchema.describe('Receives the new secret on stdin (never in argv or the environment; the item id, name and locator are in GATEHOUSE_ROTATION_ITEM, GATEHOUSE_ROTATION_NAME and GATEHOUSE_ROTATION_LOCATOR); may print one line naming where it went.'),
      read_previous: commandSchema
        .optional()
        .describe('Prints the secret in use on stdout (same environment as `deliver`), for the probe that shows it refused after rotation. Without it, rotators that must present the old secret (postgres-role, ssh-authorized-key) refuse to rotate.'),
      staging_dir: filePath('the staging directory')
        .optional()
        .describe('A directory only Gatehouse can read (absolute, or relative to this file; created 0700) where postgres-role and ssh-authorized-key stage each new secret (a 0600 file) before changing the target, so a crash or a failed delivery cannot lose it. Without it they refuse to rotate through this sink.'),
    })
    .describe('Deliver each new secret through a command (a secrets manager client, …).'),
]);

const postgresRoleSchema = z
  .strictObject({
    type: z.literal('postgres-role').describe('Rotates a PostgreSQL role\'s password (ALTER ROLE with a SCRAM-SHA-256 verifier computed here) and proves by logging in that the old one is refused.'),
    admin_url: z
      .string()
      .min(1)
      .refine(postgresUrlWithoutPassword, { message: 'must be a postgres:// URL with a host and no password; give the password in admin_password_file or admin_password' })
      .describe('Connection for `ALTER ROLE`, as a role with CREATEROLE (or a superuser), e.g. `postgres://rotator@db.internal:5432/postgres` or `postgres:///postgres?host=/run/postgresql`. No password in here.'),
    admin_password_file: filePath('the admin password file').optional().describe('File holding the admin role\'s password (mode 0600, relative to this file).'),
    admin_password: z.string().min(1).optional().describe('The admin role\'s password instead of a file: write `${env:NAME}`.'),
    probe_url: z
      .string()
      .min(1)
      .refine(postgresUrlWithoutPassword, { message: 'must be a postgres:// URL with a host and no user or password' })
      .refine((url) => !URL.canParse(url) || new URL(url).username === '', { message: 'must name no user: the probe logs in as the item\'s role' })
      .optional()
      .describe('Where probes log in as the item\'s role (host, port, database), when the item\'s locator gives no `url`. Default: the host of admin_url. It must check passwords: a server that trusts the login makes every probe inconclusive, and the rotation is refused.'),
    connect_timeout_ms: timeoutMs(5000, 'Bound on every connection, admin and probes alike'),
    terminate_sessions: z.boolean().default(true).describe('End the role\'s open sessions after rotating: some may be the intruder\'s. Revocation always ends them.'),
    sink: sinkSchema.describe('Where new passwords go, and where the password in use is read for the probe.'),
  })
  .refine((r) => r.admin_password_file === undefined || r.admin_password === undefined, { message: 'set one of admin_password_file and admin_password, not both', path: ['admin_password'] });

const sshAuthorizedKeySchema = z.strictObject({
  type: z.literal('ssh-authorized-key').describe('Replaces the key a service logs into a host with, through an admin key, and proves with the real ssh client that the old key is refused (host keys checked: StrictHostKeyChecking=yes, no agent, no ssh_config).'),
  identity_file: filePath('the admin private key file').describe('The admin private key (mode 0600) that reads and rewrites authorized_keys as the target user; never the key being rotated.'),
  known_hosts_file: filePath('the known_hosts file').describe('known_hosts with every target host\'s key; a host not in it fails (no trust on first use).'),
  ssh_binary: filePath('the ssh client').default('/usr/bin/ssh').describe('The OpenSSH client.'),
  authorized_keys_path: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'holds control characters')
    .default('.ssh/authorized_keys')
    .describe('The file sshd reads (its AuthorizedKeysFile), relative to the user\'s home or absolute.'),
  timeout_ms: timeoutMs(15_000, 'Bound on each ssh run'),
  sink: sinkSchema.describe('Where new private keys go, and where the key in use is read for the probe.'),
});

const execSchema = z.strictObject({
  type: z.literal('exec').describe('Runs a configured command that rotates, delivers and probes, and reports `{ "deliveredTo", "probe": { "refused", "detail" } }` on stdout.'),
  commands: z
    .record(z.string(), commandSchema)
    .superRefine((commands, ctx) => {
      if (Object.keys(commands).length === 0) ctx.addIssue({ code: 'custom', message: 'name at least one command' });
      for (const name of Object.keys(commands)) {
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'a command name is letters, digits, `_ . -`, at most 63 characters' });
      }
    })
    .describe('The commands an inventory item may name in `locator.command`, by name. The target (item id and locator) goes to the command as JSON on stdin.'),
});

export const rotatorSchema = z.discriminatedUnion('type', [postgresRoleSchema, sshAuthorizedKeySchema, execSchema]);

export const rotatorsSchema = z
  .record(z.string(), rotatorSchema)
  .superRefine((rotators, ctx) => {
    // Checked here rather than as a key schema, whose message would only say "Invalid key in record".
    for (const name of Object.keys(rotators)) {
      if (!ROTATOR_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'a rotator name is lower-case letters, digits and `-`, starting with a letter (as the inventory\'s rotator column), at most 60 characters' });
      else if (RESERVED_NAMES.includes(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is the name of Gatehouse\'s own service-token rotation' });
    }
  })
  .describe('Named rotators for credentials outside Gatehouse; an inventory item names one in its `rotator` column. See docs/credential-campaigns.md.');

function postgresUrlWithoutPassword(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return false;
  if (parsed.password !== '' || parsed.searchParams.has('password')) return false;
  return parsed.hostname !== '' || (parsed.searchParams.get('host') ?? '') !== '';
}

export type RotatorsConfig = z.infer<typeof rotatorsSchema>;
export type RotatorConfig = z.infer<typeof rotatorSchema>;
export type RotationSinkConfig = z.infer<typeof sinkSchema>;
