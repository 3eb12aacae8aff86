import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { GatehouseError, InputError } from '../lib/errors.js';
import type { CliContext } from './cli-context.js';
import { credentialsFilePath, readCliCredential } from './cli-credentials-file.js';
import { portalRefusal, portalRequest } from './portal-client.js';

const LOGIN_AGAIN = 'Run `gatehouse login`.';

interface IssuedReply {
  certificate: string;
  principals: string[];
  validBefore: number;
}

/** Asks the portal for a certificate of `publicKey`, turning each refusal into the message the person needs. */
async function requestCertificate(cli: CliContext, app: string, publicKey: string): Promise<IssuedReply> {
  const stored = readCliCredential(credentialsFilePath(cli.io.env));
  if (Date.now() >= stored.expiresAt) throw new GatehouseError('cli_credential_expired', { status: 401, publicMessage: `Your command-line sign-in expired. ${LOGIN_AGAIN}` });
  const reply = await portalRequest(stored.portal, '/cli/ssh/certificate', { method: 'POST', bearer: stored.credential, body: { app, public_key: publicKey } });
  if (reply.status === 200 && typeof reply.body.certificate === 'string') {
    return { certificate: reply.body.certificate, principals: (reply.body.principals as string[] | undefined) ?? [], validBefore: Number(reply.body.valid_before) };
  }
  const code = String(reply.body.code ?? '');
  if (code.startsWith('cli_credential_')) throw portalRefusal(reply);
  if (code === 'ssh_policy_denied' || code === 'ssh_step_up_required') {
    const reason = typeof reply.body.reason === 'string' ? reply.body.reason : 'denied';
    const hint = code === 'ssh_step_up_required' ? ` ${LOGIN_AGAIN} and touch your key.` : '';
    throw new GatehouseError(code, { status: 403, publicMessage: `The access policy of SSH app "${app}" refused a certificate (${reason}).${hint}` });
  }
  if (code === 'ssh_no_principal') {
    const groups = Array.isArray(reply.body.mapped_groups) ? (reply.body.mapped_groups as string[]).join(', ') : '';
    throw new GatehouseError(code, { status: 403, publicMessage: `None of your groups maps to a login on the servers${groups ? `: only members of ${groups} get one (ssh.principals)` : ' (ssh.principals maps none)'}. Ask an administrator.` });
  }
  throw portalRefusal(reply);
}

/** Runs a child with the CLI's streams: the terminal itself when the CLI runs in one, else piped to the sinks. */
function runChild(cli: CliContext, argv: readonly string[]): Promise<number> {
  const attached = cli.io.stdin === process.stdin;
  const child = spawn(argv[0]!, argv.slice(1), { stdio: attached ? 'inherit' : ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...cli.io.env } });
  if (!attached) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => cli.io.stdout.write(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => cli.io.stderr.write(chunk));
  }
  // In a terminal, Ctrl-C reaches ssh too (the same foreground group), and SIGTERM or SIGHUP sent to this
  // process are passed on: either way this process outlives ssh, so the temporary key folder is removed.
  const relay = (signal: NodeJS.Signals) => {
    if (signal === 'SIGTERM' || signal === 'SIGHUP') child.kill(signal);
  };
  const signals: NodeJS.Signals[] = attached ? ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] : [];
  for (const signal of signals) process.on(signal, relay);
  return new Promise<number>((resolve) => {
    child.once('error', (error) => {
      cli.io.stderr.write(`gatehouse: cannot run ${argv[0]}: ${error.message}\n`);
      resolve(127);
    });
    child.once('close', (code) => resolve(code ?? 255));
  }).finally(() => {
    for (const signal of signals) process.off(signal, relay);
  });
}

/**
 * `gatehouse ssh [--app NAME] [user@]host [ssh args…]`: a key made for this run (Ed25519, node:crypto),
 * certified for minutes through the `ssh` app's policy, then the real `ssh`. The key never leaves the
 * computer: it lives in a 0700 temporary folder (0600 files) removed when ssh exits, or, with
 * `--agent` and an agent running, in the agent for the certificate's lifetime only.
 */
export function registerSshConnect(ssh: Command, cli: CliContext): void {
  ssh
    .argument('[destination]', '[user@]host to connect to (needs `gatehouse login` first)')
    .argument('[ssh-args...]', 'arguments for ssh (put them after -- when they start with -)')
    .option('--app <name>', 'the ssh app whose policy decides (ssh.apps)', 'ssh')
    .option('--agent', 'add the key and certificate to the running ssh-agent ($SSH_AUTH_SOCK) for the certificate\'s lifetime instead of a temporary file')
    .allowUnknownOption()
    .action(async (destination: string | undefined, sshArgs: string[], options: { app: string; agent?: boolean }) => {
      if (!destination) {
        ssh.outputHelp();
        return;
      }
      if (destination.startsWith('-')) throw new InputError(`${destination}: put ssh options after the destination and --, e.g. gatehouse ssh deploy@db1 -- -p 2222`, 'usage');
      const { generateSessionKey } = await import('../ssh/index.js');
      const key = generateSessionKey(`gatehouse-ssh:${destination}`);
      const issued = await requestCertificate(cli, options.app, key.publicKeyLine);
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-'));
      const keyFile = join(dir, 'id_ed25519');
      const certificateFile = `${keyFile}-cert.pub`;
      try {
        writeFileSync(keyFile, key.privateKeyOpenSsh, { mode: 0o600 });
        writeFileSync(certificateFile, `${issued.certificate}\n`, { mode: 0o600 });
        cli.io.stderr.write(`gatehouse: certificate for ${issued.principals.join(', ')} valid until ${new Date(issued.validBefore).toISOString()}\n`);
        let identity: string[] = ['-o', `IdentityFile=${keyFile}`, '-o', `CertificateFile=${certificateFile}`, '-o', 'IdentitiesOnly=yes'];
        if (options.agent) {
          if (!cli.io.env.SSH_AUTH_SOCK) throw new InputError('--agent: no ssh-agent ($SSH_AUTH_SOCK is not set)', 'usage');
          const lifetime = Math.max(1, Math.floor((issued.validBefore - Date.now()) / 1000));
          // ssh-add reads `<key>-cert.pub` beside the key and adds both; -t removes them when the certificate ends.
          const added = await runChild(cli, ['ssh-add', '-q', '-t', String(lifetime), keyFile]);
          if (added !== 0) throw new GatehouseError('ssh_agent_failed', { status: 500, publicMessage: 'ssh-add could not add the key to the agent.' });
          identity = [];
        }
        cli.setExitCode(await runChild(cli, ['ssh', ...identity, destination, ...sshArgs]));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
}

