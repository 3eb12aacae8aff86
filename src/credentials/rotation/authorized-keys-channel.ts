import { chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { rotationError } from './rotation-error.js';
import { runSsh, sshAnswer, type SshClientOptions, type SshDestination } from './ssh-client.js';

/**
 * How the rotator reads and rewrites a user's authorized_keys on the target host. It is an admin
 * channel separate from the key being rotated: the key under rotation may be the leaked one.
 */
export interface AuthorizedKeysChannel {
  read(destination: SshDestination): Promise<string>;
  write(destination: SshDestination, content: string): Promise<void>;
}

/**
 * The file itself, for a host Gatehouse runs on. The new file is written beside the old one and
 * renamed over it, so sshd never reads a half-written file, and keeps the old file's owner and mode
 * (sshd's StrictModes refuses a file others can write).
 */
export function createLocalAuthorizedKeysChannel(options: { pathFor(user: string): string }): AuthorizedKeysChannel {
  let writes = 0;
  return {
    async read(destination) {
      try {
        return await readFile(options.pathFor(destination.user), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw rotationError('rotation_change_failed', `authorized_keys of ${destination.user} could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    },
    async write(destination, content) {
      const path = options.pathFor(destination.user);
      const temporary = join(dirname(path), `.authorized_keys.gatehouse-${process.pid}-${(writes += 1)}`);
      try {
        const previous = await stat(path).catch(() => undefined);
        // O_EXCL: never write through a file or symlink someone else put at that name.
        await writeFile(temporary, content, { mode: 0o600, flag: 'wx' });
        if (previous) await chown(temporary, previous.uid, previous.gid);
        await rename(temporary, path);
      } catch (error) {
        throw rotationError('rotation_change_failed', `authorized_keys of ${destination.user} could not be written (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    },
  };
}

export interface SshAuthorizedKeysChannelOptions extends Omit<SshClientOptions, 'timeoutMs'> {
  /** The admin private key file: installed for the target user, and never the key being rotated. */
  identityFile: string;
  /** The file sshd reads (its AuthorizedKeysFile), relative to the user's home or absolute; from config, never from the inventory. */
  authorizedKeysPath?: string;
  timeoutMs?: number;
}

/** POSIX shell single quoting: the only character needing care inside '…' is ' itself. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Over SSH as the target user with an admin key: the real `ssh` client against the real sshd. */
export function createSshAuthorizedKeysChannel(options: SshAuthorizedKeysChannelOptions): AuthorizedKeysChannel {
  const client: SshClientOptions = { sshBinary: options.sshBinary, knownHostsFile: options.knownHostsFile, timeoutMs: options.timeoutMs ?? 15_000 };
  const path = options.authorizedKeysPath ?? '.ssh/authorized_keys';
  if (path === '' || path.includes('\0') || path.includes('\n')) throw new TypeError('authorizedKeysPath must be a file path');
  // Fixed remote commands run by the user's login shell; the path is quoted and comes from config.
  // The new file is written beside the old one and renamed over it: sshd never reads half a file.
  const file = shellQuote(path);
  const temporary = shellQuote(`${path}.gatehouse-new`);
  const readCommand = `if [ -e ${file} ]; then cat -- ${file}; fi`;
  const writeCommand = `umask 077 && mkdir -p -- "$(dirname -- ${file})" && cat > ${temporary} && mv -f -- ${temporary} ${file}`;
  return {
    async read(destination) {
      const result = await runSsh(client, destination, options.identityFile, readCommand);
      if (result.exitCode !== 0) {
        throw rotationError('rotation_change_failed', `reading authorized_keys of ${destination.user}@${destination.host} failed: ${sshAnswer(result)}`);
      }
      return result.stdout;
    },
    async write(destination, content) {
      const result = await runSsh(client, destination, options.identityFile, writeCommand, content);
      if (result.exitCode !== 0) {
        throw rotationError('rotation_change_failed', `writing authorized_keys of ${destination.user}@${destination.host} failed: ${sshAnswer(result)}`);
      }
    },
  };
}
