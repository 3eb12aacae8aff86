import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

let writes = 0;

/**
 * Writes a secret to `path` so that after a crash or power loss the file holds either its old content
 * or all of the new one, never half a secret. The bytes go to a fresh 0600 file beside it (O_EXCL:
 * never through a file or symlink someone else put there), are fsynced, renamed over `path`, and the
 * directory is fsynced so the rename itself survives (POSIX makes a rename durable only then). A
 * rotator relies on this ordering: a staged secret must be on disk before the target changes, and a
 * delivered one before the staged copy is removed.
 */
export async function writeSecretFile(path: string, secret: Buffer): Promise<void> {
  const dir = dirname(path);
  const temporary = join(dir, `.gatehouse-new-${process.pid}-${(writes += 1)}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = await open(temporary, 'wx', 0o600);
    try {
      // The umask cannot widen 0600, but a chmod documents and enforces it whatever the umask.
      await file.chmod(0o600);
      await file.writeFile(secret);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
}

/** Makes a rename or unlink in `dir` durable; a platform that cannot open a directory keeps the atomic rename. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}
