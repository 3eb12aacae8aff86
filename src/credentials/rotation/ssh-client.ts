import { runProcess, type ProcessResult } from './run-process.js';

export interface SshDestination {
  host: string;
  port: number;
  user: string;
}

export interface SshClientOptions {
  /** The OpenSSH client binary. */
  sshBinary: string;
  /** The host keys Gatehouse trusts: a probe against an unknown host would prove nothing. */
  knownHostsFile: string;
  timeoutMs: number;
}

/** A host name or IP literal that cannot be read as an option or a second argument by `ssh`. */
export function sshDestinationProblem(destination: Partial<Record<'host' | 'port' | 'user', string>>): string | undefined {
  const { host, port, user } = destination;
  if (!host || !/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|[0-9A-Fa-f:.]+)$/.test(host)) {
    return 'locator.host must be a host name or IP address';
  }
  if (port !== undefined && (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    return 'locator.port must be an integer from 1 to 65535';
  }
  if (!user || !/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(user)) return 'locator.user must be a POSIX user name';
  return undefined;
}

/**
 * Runs the real OpenSSH client with one key and nothing else: no config file, no agent, no other
 * identity, public-key authentication only, host key checked against Gatehouse's own known_hosts.
 * Anything looser could let a probe "fail" or "succeed" for a reason other than the key presented.
 */
export function runSsh(
  options: SshClientOptions,
  destination: SshDestination,
  identityFile: string,
  remoteCommand: string,
  stdin?: string,
): Promise<ProcessResult> {
  const argv = [
    options.sshBinary,
    '-F', '/dev/null',
    '-i', identityFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'BatchMode=yes',
    '-o', 'PreferredAuthentications=publickey',
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${options.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'UpdateHostKeys=no',
    '-o', `ConnectTimeout=${Math.max(1, Math.ceil(options.timeoutMs / 1000))}`,
    '-p', String(destination.port),
    '-l', destination.user,
    '--',
    destination.host,
    remoteCommand,
  ];
  return runProcess(argv, { timeoutMs: options.timeoutMs, ...(stdin === undefined ? {} : { stdin }) });
}

/** OpenSSH's words when the server refused every key offered (sshconnect2.c). */
export function isPublicKeyRefusal(result: ProcessResult): boolean {
  return result.exitCode === 255 && /Permission denied \(publickey[^)]*\)/.test(result.stderr);
}

/** A one-line summary of what ssh answered, safe for evidence and errors (no key material in it). */
export function sshAnswer(result: ProcessResult): string {
  if (result.spawnError) return `ssh did not start (${result.spawnError})`;
  if (result.timedOut) return 'ssh timed out';
  const lastLine = result.stderr.trim().split('\n').pop()?.slice(0, 200) ?? '';
  return `exit ${result.exitCode ?? 'none'}${lastLine ? `: ${lastLine}` : ''}`;
}
