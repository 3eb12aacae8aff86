import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GatehouseError } from '../lib/errors.js';
import { parseKeyEncryptionKeys, serializeKeyEncryptionKeys, type KeyEncryptionKeys } from './key-encryption-keys.js';

/** Identifies one version of the file: a rotation replaces it (new inode, new mtime). */
export function keyFileStamp(path: string): string {
  const stat = statSync(path);
  return `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
}

/**
 * Reads the key file, refusing one that the group or others may read (or write): the file is the
 * only thing standing between a copy of the database and the private keys sealed in it, so it must
 * be readable by the service account alone.
 */
export function readKeyEncryptionKeyFile(path: string): KeyEncryptionKeys {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GatehouseError(code === 'ENOENT' ? 'kek_file_missing' : 'kek_file_unreadable', {
      status: 500,
      publicMessage:
        code === 'ENOENT'
          ? `The key-encryption key file ${path} does not exist. Create one with \`gatehouse secrets init-kek --file ${path}\`, or restore it from its backup.`
          : `The key-encryption key file ${path} cannot be read (${code ?? 'error'}).`,
      detail: `${path}: ${code ?? String(error)}`,
      cause: error,
    });
  }
  // POSIX permission bits only mean something off Windows.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new GatehouseError('kek_file_permissions', {
      status: 500,
      publicMessage: `The key-encryption key file ${path} is accessible to other users (mode ${octal}); refusing to use it. Run \`chmod 600 ${path}\` (owner: the Gatehouse service account).`,
      detail: `${path}: mode ${octal}`,
    });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GatehouseError('kek_file_unreadable', {
      status: 500,
      publicMessage: `The key-encryption key file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      detail: path,
      cause: error,
    });
  }
  return parseKeyEncryptionKeys(text, path);
}

/**
 * Replaces the key file atomically: the new text goes to a temporary file (mode 0600 from creation,
 * flushed to disk), which is then renamed over the old one, so a crash leaves either the old file or
 * the new one, never a torn one. `exclusive` refuses to replace an existing file (first creation).
 */
export function writeKeyEncryptionKeyFile(path: string, ring: KeyEncryptionKeys, options: { exclusive?: boolean } = {}): void {
  const text = serializeKeyEncryptionKeys(ring);
  if (options.exclusive) {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  // A temporary file left by a crash may carry another mode: start from a fresh one created 0600.
  try {
    unlinkSync(temp);
  } catch {
    // Usually there is none.
  }
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // The rename error is the one to report.
    }
    throw error;
  }
  // The rename is durable once the directory entry is (POSIX: fsync the directory).
  try {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Not every platform lets a directory be opened for fsync; the rename itself is still atomic.
  }
}
