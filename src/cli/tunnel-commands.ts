import { createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Command } from 'commander';
import { GatehouseError, InputError } from '../lib/errors.js';
import { keepFreedHeap } from '../lib/keep-freed-heap.js';
import type { CliContext } from './cli-context.js';
import { credentialsFilePath, readCliCredential } from './cli-credentials-file.js';
import { portalRefusal, portalRequest } from './portal-client.js';
import { openTunnelStream } from './tunnel-client.js';

/** Joins two byte streams both ways; resolves when both have closed. */
function splice(a: Duplex, b: Duplex): Promise<void> {
  a.pipe(b);
  b.pipe(a);
  const closed = (stream: Duplex) => new Promise<void>((resolve) => stream.once('close', () => resolve()));
  a.once('error', () => b.destroy());
  b.once('error', () => a.destroy());
  // A tunnel has no half-close: when one end closes, the other follows once its bytes are out.
  a.once('close', () => b.end());
  b.once('close', () => a.end());
  return Promise.all([closed(a), closed(b)]).then(() => undefined);
}

function parseLocal(text: string): { host: string; port: number } {
  const match = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  // Loopback only: a listener on another interface would hand the tunnel (and the person's access) to the network.
  if (!match || port > 65535) throw new InputError(`--local ${text}: give a loopback address and port, e.g. 127.0.0.1:15432`, 'usage');
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * `gatehouse tunnel APP --local 127.0.0.1:PORT` (one tunnel per accepted connection) and
 * `gatehouse tunnel APP --stdio` (for ssh's ProxyCommand). The credential of `gatehouse login`.
 */
export function registerTunnelCommands(program: Command, cli: CliContext): void {
  program
    .command('tunnel')
    .description('Reach a TCP app (tcp.apps) through the access proxy, after `gatehouse login`: listen on a loopback port, or carry stdin/stdout (ssh ProxyCommand)')
    .argument('<app>', 'the tcp app')
    .option('--local <address>', 'listen on this loopback address:port; each connection gets its own tunnel')
    .option('--stdio', 'carry stdin and stdout through one tunnel (ProxyCommand gatehouse tunnel %n --stdio)')
    .action(async (app: string, options: { local?: string; stdio?: boolean }) => {
      if (Boolean(options.local) === Boolean(options.stdio)) throw new InputError('give exactly one of --local ADDRESS:PORT or --stdio', 'usage');
      const stored = readCliCredential(credentialsFilePath(cli.io.env));
      // Every byte of the stream passes through this process: keep glibc from trimming the heap at each GC.
      keepFreedHeap();
      if (options.stdio) {
        const stream = await openTunnelStream(stored, app);
        // ssh owns these pipes; nothing else may write to stdout. Piped straight, without a wrapper
        // stream that paused and resumed stdin at every read (two system calls a chunk, and ssh stalls
        // on a full pipe meanwhile).
        process.stdin.pipe(stream);
        stream.pipe(process.stdout);
        stream.once('error', () => undefined);
        // ssh sees the end of the transport only when this process exits: done when the tunnel closes.
        await new Promise<void>((resolve) => stream.once('close', () => resolve()));
        process.stdin.destroy();
        return;
      }
      const local = parseLocal(options.local!);
      // Checked once before listening, so a bad credential or a denied policy fails now, not at the first connection.
      (await openTunnelStream(stored, app)).destroy();
      const server = createServer((socket: Socket) => {
        socket.setNoDelay(true);
        socket.pause();
        openTunnelStream(stored, app).then(
          (stream) => {
            socket.resume();
            void splice(socket, stream);
          },
          (error: unknown) => {
            cli.io.stderr.write(`gatehouse: ${(error as Error).message}\n`);
            socket.destroy();
          },
        );
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(local.port, local.host, () => resolve());
      });
      const bound = server.address();
      cli.io.stderr.write(`gatehouse: tunnel to ${app} listening on ${local.host}:${typeof bound === 'object' && bound ? bound.port : local.port} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

/** Characters a Host pattern and a ProxyCommand argument may carry here (an app name is a slug). */
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * `gatehouse ssh config APP… [--user LOGIN]`: a `~/.ssh/config` block for tcp apps whose upstream is an sshd, and
 * the known_hosts `@cert-authority` line for them from the portal. ssh runs `gatehouse tunnel %n --stdio`
 * as its transport; the server still checks a certificate (for example the one `gatehouse ssh --agent`
 * puts in the agent) and the client still checks the host certificate against the CA.
 */
export function registerSshConfig(ssh: Command, cli: CliContext): void {
  ssh
    .command('config')
    .description('Print a ~/.ssh/config block that reaches tcp apps through `gatehouse tunnel` (ProxyCommand), and their @cert-authority known_hosts line')
    // Positional, not --app: the parent `gatehouse ssh` takes --app for its own app (ssh.apps).
    .argument('<apps...>', 'tcp apps whose upstream is an sshd')
    .option('--user <login>', 'the login to use on those servers')
    .action(async (apps: string[], options: { user?: string }) => {
      for (const app of apps) if (!SLUG.test(app)) throw new InputError(`${app}: not an app name`, 'usage');
      if (options.user !== undefined && !/^[a-z_][a-z0-9_.-]{0,31}$/.test(options.user)) throw new InputError(`--user ${options.user}: not a login name`, 'usage');
      const stored = readCliCredential(credentialsFilePath(cli.io.env));
      if (Date.now() >= stored.expiresAt) throw new GatehouseError('cli_credential_expired', { status: 401, publicMessage: 'Your command-line sign-in expired. Run `gatehouse login`.' });
      // With ProxyCommand, ssh checks the host key under the name typed (%n): the app's name.
      const reply = await portalRequest(stored.portal, `/cli/ssh/known-hosts?host_pattern=${encodeURIComponent(apps.join(','))}`, { bearer: stored.credential });
      if (reply.status !== 200 || typeof reply.body.known_hosts !== 'string') throw portalRefusal(reply, String(reply.body.code ?? '').startsWith('cli_credential_') ? 'Run `gatehouse login`.' : undefined);
      const lines = [
        '# Gatehouse: SSH through the access proxy (after `gatehouse login`).',
        '# Add to ~/.ssh/known_hosts (the CA that signs these servers\' host certificates):',
        ...reply.body.known_hosts.trim().split('\n').map((line) => `#   ${line}`),
        '# A certificate for your key: `gatehouse ssh --agent` puts a short-lived one in your ssh-agent.',
        `Host ${apps.join(' ')}`,
        '  ProxyCommand gatehouse tunnel %n --stdio',
        ...(options.user ? [`  User ${options.user}`] : []),
        '  StrictHostKeyChecking yes',
        '  ServerAliveInterval 30',
        '',
      ];
      cli.io.stdout.write(lines.join('\n'));
    });
}
