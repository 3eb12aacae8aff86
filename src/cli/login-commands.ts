import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { GatehouseError, InputError } from '../lib/errors.js';
import type { CliContext } from './cli-context.js';
import { credentialsFilePath, deleteCliCredential, readCliCredential, writeCliCredential } from './cli-credentials-file.js';
import { listenForLoopbackRedirect } from './loopback-redirect-listener.js';
import { emit, isoTime } from './output.js';
import { portalBaseOf, portalRefusal, portalRequest } from './portal-client.js';

/** How long `gatehouse login` waits for the browser. */
const LOGIN_TIMEOUT_MS = 5 * 60_000;

/**
 * Opens `url` in the person's browser: `$BROWSER` (a command; `%s` is replaced by the URL, else it is
 * appended), else the desktop's opener. The URL is passed as one argument, never through a shell.
 */
function openBrowser(env: Readonly<Record<string, string | undefined>>, url: string): void {
  const configured = env.BROWSER?.split(':')[0]?.trim();
  const argv = configured ? configured.split(/\s+/) : [process.platform === 'darwin' ? 'open' : 'xdg-open'];
  const args = argv.slice(1).some((a) => a.includes('%s')) ? argv.slice(1).map((a) => a.replace('%s', url)) : [...argv.slice(1), url];
  const child = spawn(argv[0]!, args, { stdio: 'ignore', detached: true, env: { ...process.env, ...env } });
  child.on('error', () => {});
  child.unref();
}

/** `--portal`, else `$GATEHOUSE_PORTAL`, else the portal of the last login. */
function portalOf(cli: CliContext, flag: string | undefined): string {
  const raw = flag ?? cli.io.env.GATEHOUSE_PORTAL;
  if (raw) return portalBaseOf(raw);
  try {
    return readCliCredential(credentialsFilePath(cli.io.env)).portal;
  } catch {
    throw new InputError('give the portal: --portal https://sso.example.com (or set GATEHOUSE_PORTAL)', 'usage');
  }
}

export function registerLoginCommands(program: Command, cli: CliContext): void {
  program
    .command('login')
    .option('--portal <url>', 'the Gatehouse portal, e.g. https://sso.example.com (default: $GATEHOUSE_PORTAL, else the last one)')
    .option('--no-browser', 'print the sign-in address instead of opening the browser')
    .option('--json', 'print JSON')
    .description('Sign the command line in through your browser (security key, loopback redirect with PKCE); stores a short-lived credential with mode 0600')
    .action(async (options: { portal?: string; browser: boolean; json?: boolean }) => {
      const portal = portalOf(cli, options.portal);
      // RFC 7636 §4.1: 32 random octets, base64url: a 43-character verifier; §4.2: S256 only.
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
      const state = randomBytes(16).toString('base64url');
      const listener = await listenForLoopbackRedirect({ state, timeoutMs: LOGIN_TIMEOUT_MS });
      try {
        const authorize = new URL('/cli/authorize', portal);
        for (const [key, value] of Object.entries({ response_type: 'code', client_id: 'gatehouse-cli', redirect_uri: listener.redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state })) {
          authorize.searchParams.set(key, value);
        }
        cli.io.stderr.write(`${options.browser ? 'Opening your browser to sign in. If it does not open, visit' : 'To sign in, open'}:\n  ${authorize.toString()}\n`);
        if (options.browser) openBrowser(cli.io.env, authorize.toString());
        const code = await listener.code;
        const reply = await portalRequest(portal, '/cli/token', { method: 'POST', body: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: listener.redirectUri } });
        if (reply.status !== 200) throw portalRefusal(reply);
        const { credential, expires_at: expiresAt, email } = reply.body;
        if (typeof credential !== 'string' || typeof expiresAt !== 'number' || typeof email !== 'string') throw new GatehouseError('portal_bad_reply', { status: 503, publicMessage: 'The portal answered without a credential.' });
        const file = credentialsFilePath(cli.io.env);
        writeCliCredential(file, { portal, credential, email, expiresAt });
        emit(cli, options.json, { email, expiresAt: isoTime(expiresAt), portal, file }, () => `Signed in as ${email} until ${isoTime(expiresAt)} (credential in ${file}, mode 0600).`);
      } finally {
        listener.close();
      }
    });

  program
    .command('logout')
    .option('--json', 'print JSON')
    .description('Revoke the command line\'s credential on the portal and delete it from this computer')
    .action(async (options: { json?: boolean }) => {
      const file = credentialsFilePath(cli.io.env);
      const stored = readCliCredential(file);
      let revoked = false;
      try {
        const reply = await portalRequest(stored.portal, '/cli/logout', { method: 'POST', bearer: stored.credential, body: {} });
        revoked = reply.status === 200;
      } finally {
        // Deleted whatever the portal said: an expired or revoked credential is worth nothing kept.
        deleteCliCredential(file);
      }
      emit(cli, options.json, { email: stored.email, revoked, deleted: file }, () => `Signed out ${stored.email} on this computer${revoked ? '' : ' (the portal had already ended this sign-in)'}.`);
    });
}
