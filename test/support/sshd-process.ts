/**
 * One unprivileged OpenSSH server for a test: a config of the caller's lines on a free high port of
 * 127.0.0.1, started in the foreground (`-D -e`, so its log is ours), stopped by PID, its folder
 * removed. The rotators' sshd (authorized_keys) and the CA's sshd (TrustedUserCAKeys, host
 * certificates) differ only in their lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

/** Lines every test sshd shares: keys only, no PAM, and a log that names the accepted key. */
export const TEST_SSHD_BASE_LINES: readonly string[] = [
  'PubkeyAuthentication yes',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'UsePAM no',
  // Test folders live under /tmp (world-writable): StrictModes would refuse every key in them.
  'StrictModes no',
  'PermitRootLogin prohibit-password',
  'LogLevel VERBOSE',
];

export interface SshdProcess {
  port: number;
  /** What sshd logged so far. */
  log(): string;
  /** Stops sshd and removes `dir`. */
  stop(): Promise<void>;
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts `sshdBinary` (an absolute path: sshd re-executes itself) with `lines` after the port, listen
 * address and PID file. Returns why it could not start as a string, for the caller's skip message.
 */
export async function startSshdProcess(options: { sshdBinary: string; dir: string; lines: readonly string[] }): Promise<SshdProcess | string> {
  const { sshdBinary, dir, lines } = options;
  try {
    // Privilege separation needs this folder; the package's service would create it.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  } catch {
    return 'cannot create /run/sshd';
  }
  const port = await freeLoopbackPort();
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [`Port ${port}`, 'ListenAddress 127.0.0.1', `PidFile ${join(dir, 'sshd.pid')}`, ...lines, ''].join('\n'));
  const server: ChildProcess = spawn(sshdBinary, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (server.exitCode !== null) break;
    if (await answers(port)) return { port, log: () => log, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  return `sshd did not start: ${log.trim().split('\n').pop() ?? ''}`;
}
