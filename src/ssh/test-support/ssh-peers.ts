/**
 * Real OpenSSH for the CA's tests: an sshd that trusts a TrustedUserCAKeys file and presents a host
 * certificate (or only a bare host key), and an ssh client whose known_hosts holds only
 * `@cert-authority` lines with StrictHostKeyChecking yes. Started and stopped by PID, on a free high
 * port of 127.0.0.1, in a folder of its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshdProcess, TEST_SSHD_BASE_LINES } from '../../../test/support/sshd-process.js';

export interface Run {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv without a shell, asynchronously (a synchronous child blocks the vitest worker). */
export function run(argv: readonly string[], timeoutMs = 20_000): Promise<Run> {
  const [command, ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ exitCode: null, stdout, stderr: String(error) });
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}

export async function keygen(dir: string, name: string, type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519', bits?: number): Promise<{ privateKeyFile: string; publicKey: string }> {
  const privateKeyFile = join(dir, name);
  const result = await run(['ssh-keygen', '-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', name, '-f', privateKeyFile]);
  if (result.exitCode !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  return { privateKeyFile, publicKey: readFileSync(`${privateKeyFile}.pub`, 'utf8') };
}

export interface CaSshd {
  port: number;
  dir: string;
  /** The file sshd reads as TrustedUserCAKeys (on every login: rewrite it to change what it trusts). */
  trustedUserCaKeysFile: string;
  hostPublicKey: string;
  /** What sshd logged so far (LogLevel VERBOSE: the accepted certificate's key id and serial). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts sshd (an absolute path: sshd re-executes itself) trusting `trustedUserCaKeys`; `hostCertificate(hostPublicKey)`
 * signs its host key, or it presents the bare key. `extraLines` follow the base lines (a subsystem, forwarding switches).
 */
export async function startCaSshd(options: { sshdBinary: string; trustedUserCaKeys: string; hostCertificate?: (hostPublicKey: string) => Promise<string>; extraLines?: readonly string[] }): Promise<CaSshd | string> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-ca-'));
  const host = await keygen(dir, 'host_key');
  const trustedUserCaKeysFile = join(dir, 'trusted_user_ca_keys');
  writeFileSync(trustedUserCaKeysFile, options.trustedUserCaKeys);
  const lines = [
    `HostKey ${host.privateKeyFile}`,
    `TrustedUserCAKeys ${trustedUserCaKeysFile}`,
    // Certificates only: no authorized_keys file can let a bare key in.
    'AuthorizedKeysFile none',
    ...TEST_SSHD_BASE_LINES,
    ...(options.extraLines ?? []),
  ];
  if (options.hostCertificate) {
    const certificateFile = join(dir, 'host_key-cert.pub');
    writeFileSync(certificateFile, await options.hostCertificate(host.publicKey));
    lines.push(`HostCertificate ${certificateFile}`);
  }
  const sshd = await startSshdProcess({ sshdBinary: options.sshdBinary, dir, lines });
  if (typeof sshd === 'string') return sshd;
  return { port: sshd.port, dir, trustedUserCaKeysFile, hostPublicKey: host.publicKey, log: sshd.log, stop: sshd.stop };
}

/**
 * `ssh` as a careful client: no config file, no agent, only this key and certificate, and a
 * known_hosts file with nothing but what the test wrote (the `@cert-authority` lines).
 */
export function sshCommand(options: { port: number; user: string; privateKeyFile: string; certificateFile?: string; knownHostsFile: string; command: string }): Promise<Run> {
  return run([
    'ssh',
    '-F',
    '/dev/null',
    '-p',
    String(options.port),
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    `IdentityFile=${options.privateKeyFile}`,
    ...(options.certificateFile ? ['-o', `CertificateFile=${options.certificateFile}`] : []),
    '-o',
    `UserKnownHostsFile=${options.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'UpdateHostKeys=no',
    '-o',
    'ConnectTimeout=10',
    '-l',
    options.user,
    '127.0.0.1',
    options.command,
  ]);
}
