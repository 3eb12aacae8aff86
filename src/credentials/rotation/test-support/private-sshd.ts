/**
 * A real sshd for one test file: its own host key, config, authorized_keys file and a free high
 * port on 127.0.0.1, started and stopped by PID. Logs in as the user running the tests.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { startSshdProcess, TEST_SSHD_BASE_LINES } from '../../../../test/support/sshd-process.js';
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

export async function startPrivateSshd(sshdBinary: string, keygenBinary: string): Promise<PrivateSshd | string> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sshd-'));
  const keygen = async (name: string, type: 'ed25519' | 'rsa' = 'ed25519') => {
    const privateKeyFile = join(dir, name);
    const args = [keygenBinary, '-q', '-t', type, '-N', '', '-C', name, '-f', privateKeyFile, ...(type === 'rsa' ? ['-b', '2048', '-m', 'PEM'] : [])];
    const result = await runProcess(args, { timeoutMs: 30_000 });
    if (result.exitCode !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
    return { privateKeyFile, publicKeyLine: readFileSync(`${privateKeyFile}.pub`, 'utf8').trim() };
  };
  const hostKey = await keygen('host_key');
  const user = userInfo().username;
  const authorizedKeysFile = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeysFile, '', { mode: 0o600 });
  const sshd = await startSshdProcess({ sshdBinary, dir, lines: [`HostKey ${hostKey.privateKeyFile}`, `AuthorizedKeysFile ${authorizedKeysFile}`, ...TEST_SSHD_BASE_LINES] });
  if (typeof sshd === 'string') return sshd;
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${sshd.port} ${hostKey.publicKeyLine.split(' ').slice(0, 2).join(' ')}\n`);
  return { port: sshd.port, user, dir, authorizedKeysFile, knownHostsFile, keygen, stop: sshd.stop };
}
