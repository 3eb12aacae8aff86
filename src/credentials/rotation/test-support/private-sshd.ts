/**
 * A real sshd for one test file: its own host key, config, authorized_keys file and a free high
 * port on 127.0.0.1, started and stopped by PID. Logs in as the user running the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../run-process.js';

export interface PrivateSshd {
  port: number;
  user: string;
  dir: string;
  authorizedKeysFile: string;
  knownHostsFile: string;
  /** Generates a key with the real ssh-keygen; returns the private key file's path. */
  keygen(name: string, type?: 'ed25519' | 'rsa'): Promise<{ privateKeyFile: string; publicKeyLine: string }>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
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

export async function startPrivateSshd(sshdBinary: string, keygenBinary: string): Promise<PrivateSshd | string> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sshd-'));
  const keygen = async (name: string, type: 'ed25519' | 'rsa' = 'ed25519') => {
    const privateKeyFile = join(dir, name);
    const args = [keygenBinary, '-q', '-t', type, '-N', '', '-C', name, '-f', privateKeyFile, ...(type === 'rsa' ? ['-b', '2048', '-m', 'PEM'] : [])];
    const result = await runProcess(args, { timeoutMs: 30_000 });
    if (result.exitCode !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
    return { privateKeyFile, publicKeyLine: readFileSync(`${privateKeyFile}.pub`, 'utf8').trim() };
  };
  try {
    // sshd's privilege separation needs this folder (it is not created until the package's service runs).
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  } catch {
    return 'cannot create /run/sshd';
  }
  const hostKey = await keygen('host_key');
  const port = await freePort();
  const user = userInfo().username;
  const authorizedKeysFile = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeysFile, '', { mode: 0o600 });
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKey.publicKeyLine.split(' ').slice(0, 2).join(' ')}\n`);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey.privateKeyFile}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeysFile}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The test folder lives under /tmp (world-writable): StrictModes would refuse every key.
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
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
    if (await answers(port)) return { port, user, dir, authorizedKeysFile, knownHostsFile, keygen, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  return `sshd did not start: ${log.trim().split('\n').pop() ?? ''}`;
}
