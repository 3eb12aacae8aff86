/**
 * The OpenSSH client reaching a real sshd through `ProxyCommand gatehouse tunnel %n --stdio` (the built
 * CLI as a process): a session key with a user certificate issued through the portal with the CLI's
 * credential, sshd trusting the instance's CA, and a known_hosts file holding only the sshd's host key
 * under the tcp app's name. Shared by the tunnel tests that run ssh, scp, sftp and rsync through it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';
import { createSshCertificateAuthority, sshSettingsOf, type SshCertificateAuthority } from '../../src/ssh/index.js';
import { keygen, type CaSshd } from '../../src/ssh/test-support/ssh-peers.js';
import { cliLoginSteps } from './cli-login-steps.js';
import type { GatehouseFixture } from './gatehouse-fixture.js';
import { builtCli } from './paths.js';

export interface SshThroughTunnel {
  /** The instance's CA, as the test reads it (trust lines; a certificate of other settings). */
  ca: SshCertificateAuthority;
  privateKeyFile: string;
  /** `ssh` options (before the host argument): no config file, no agent, this key and certificate only, StrictHostKeyChecking yes. */
  options: string[];
  /** The same options with another key, whose certificate is `<key>-cert.pub`. */
  optionsFor(privateKeyFile: string): string[];
}

/**
 * Issues a certificate for a new key through `fx`'s portal (app `sshApp`) with `credential`, makes
 * `sshd` trust `fx`'s CA, and returns the ssh options that reach `tcpApp` through the tunnel.
 */
export async function sshThroughTunnel(setup: { fx: GatehouseFixture; credential: string; sshd: CaSshd; dir: string; login: string; tcpApp: string; sshApp?: string }): Promise<SshThroughTunnel> {
  const { fx, sshd, dir, tcpApp } = setup;
  const key = await keygen(dir, 'id_ed25519');
  const issued = await cliLoginSteps(fx).certificate(setup.credential, setup.sshApp ?? 'servers', key.publicKey);
  expect(issued.status).toBe(200);
  writeFileSync(`${key.privateKeyFile}-cert.pub`, `${String(issued.body.certificate)}\n`);
  const core = fx.gatehouse.core;
  const ca = createSshCertificateAuthority({ db: core.store.db, sealer: core.secrets, clock: systemClock, random: cryptoRandom, audit: core.audit, settings: sshSettingsOf(core.snapshot().config.ssh) });
  await ca.open('test');
  writeFileSync(sshd.trustedUserCaKeysFile, ca.trustedUserCaKeys());
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${tcpApp} ${sshd.hostPublicKey}`);
  const optionsFor = (privateKeyFile: string) => [
    '-F', '/dev/null',
    '-o', `ProxyCommand=${process.execPath} ${builtCli()} tunnel %n --stdio`,
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
    '-o', `IdentityFile=${privateKeyFile}`, '-o', `CertificateFile=${privateKeyFile}-cert.pub`,
    '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
    '-o', `User=${setup.login}`,
  ];
  return { ca, privateKeyFile: key.privateKeyFile, options: optionsFor(key.privateKeyFile), optionsFor };
}

export interface ChildRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv without a shell and without the test's environment (only PATH and `env`), asynchronously;
 * killed after `timeoutMs`. `children` tracks it so afterAll can stop what is still running.
 */
export function runChild(argv: readonly string[], env: Record<string, string>, children: Set<ChildProcess>, timeoutMs = 30_000): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ exitCode: null, stdout, stderr: String(error) });
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ exitCode, stdout, stderr });
    });
  });
}
