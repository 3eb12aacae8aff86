import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GatehouseError } from '../../lib/errors.js';

/**
 * Durable, atomic, private secret files, and the sweep of what a crash leaves behind.
 *
 * Threats, written before the code:
 * - A `kill -9` (or power loss) between writing the temporary file and renaming it leaves
 *   `.gatehouse-new-<pid>-<n>`, mode 0600, holding a live secret, for as long as nobody looks. The
 *   next run of a sink sweeps them (sweepStaleSecretTemporaries): a file whose pid is gone is removed
 *   and named in the output and the audit log; a live process's file is never touched.
 * - Someone with write access to the directory plants a symlink (or a hard link) at the target name
 *   so that Gatehouse writes the secret over another file, or somewhere they can read. The bytes only
 *   ever go to a file created here with O_CREAT|O_EXCL (which refuses to follow or reuse anything that
 *   is already there), and reach the target name by rename, which replaces the name itself and never
 *   writes through it. A target that is not a regular file is refused first, with a code, so the
 *   operator learns of the planted link instead of having it silently replaced.
 * - The same naming, planted in advance, cannot make Gatehouse remove a file it did not create: on
 *   failure only our own temporary file is removed.
 */

let writes = 0;
/** Temporary files this process is writing now: the sweep never removes these, whatever their pid. */
const inFlight = new Set<string>();

const TEMPORARY_PREFIX = '.gatehouse-new-';
const TEMPORARY_NAME = /^\.gatehouse-new-([1-9][0-9]{0,9})-([1-9][0-9]{0,15})$/;

/** The target of a secret write is something other than a regular file (a planted symlink, a directory…). */
export const SECRET_TARGET_NOT_A_FILE = 'secret_target_not_a_file';

/**
 * Writes a secret to `path` so that after a crash or power loss the file holds either its old content
 * or all of the new one, never half a secret. The bytes go to a fresh 0600 file beside it (O_EXCL:
 * never through a file or symlink someone else put there), are fsynced, renamed over `path`, and the
 * directory is fsynced so the rename itself survives (POSIX makes a rename durable only then). A
 * rotator relies on this ordering: a staged secret must be on disk before the target changes, and a
 * delivered one before the staged copy is removed. A `path` that exists and is not a regular file is
 * refused with `secret_target_not_a_file`.
 */
export async function writeSecretFile(path: string, secret: Buffer): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await refuseNonRegularTarget(path);
  const { file, temporary } = await createTemporary(dir);
  try {
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
  } finally {
    inFlight.delete(temporary);
  }
  await syncDirectory(dir);
}

/**
 * Creates the next free `.gatehouse-new-<pid>-<n>` with O_CREAT|O_EXCL, mode 0600 from the start. A
 * name already taken (a crashed run's leftover under a reused pid, or something planted) is skipped,
 * never opened or removed.
 */
async function createTemporary(dir: string): Promise<{ file: FileHandle; temporary: string }> {
  for (let attempt = 0; ; attempt += 1) {
    const temporary = join(dir, `${TEMPORARY_PREFIX}${process.pid}-${(writes += 1)}`);
    inFlight.add(temporary);
    try {
      return { file: await open(temporary, 'wx', 0o600), temporary };
    } catch (error) {
      inFlight.delete(temporary);
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 16) throw error;
    }
  }
}

/** The folder a secret is to be written to is missing and cannot be made, is not a folder, or cannot be written. */
export const SECRET_DIR_UNUSABLE = 'secret_dir_unusable';

/**
 * Checks, before anything is changed, that writeSecretFile(path) would get as far as the rename: the
 * folder exists (made 0700 if missing, as the write would), is a folder, takes a new file, and the name
 * is absent or a regular file (a planted symlink: `secret_target_not_a_file`). Writability is proven by
 * creating and removing a temporary exactly as the write does (O_EXCL, 0600), not by access(2), which
 * says yes to root on a 0500 folder. A rotation that kills the old secret calls this first, so a target
 * that would refuse the new one fails the item while the old secret still works. It narrows the window
 * rather than closing it: the caller must still handle a write that fails afterwards.
 */
export async function checkSecretTarget(path: string): Promise<void> {
  const dir = dirname(path);
  const unusable = (why: string, error?: unknown) =>
    new GatehouseError(SECRET_DIR_UNUSABLE, {
      status: 500,
      publicMessage: 'The secret could not be delivered.',
      detail: `${dir} ${why}${error === undefined ? '' : ` (${(error as NodeJS.ErrnoException).code ?? 'error'})`}: no secret can be written there`,
    });
  const found = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw unusable('cannot be examined', error);
  });
  if (found === undefined) await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => Promise.reject(unusable('is missing and cannot be created', error)));
  else if (!found.isDirectory()) throw unusable('is not a directory');
  await refuseNonRegularTarget(path);
  const { file, temporary } = await createTemporary(dir).catch((error: unknown) => Promise.reject(unusable('is not writable', error)));
  try {
    await file.close();
    await rm(temporary, { force: true });
  } finally {
    inFlight.delete(temporary);
  }
}

async function refuseNonRegularTarget(path: string): Promise<void> {
  const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stat === undefined || stat.isFile()) return;
  const what = stat.isSymbolicLink() ? 'a symbolic link' : stat.isDirectory() ? 'a directory' : 'not a regular file';
  throw new GatehouseError(SECRET_TARGET_NOT_A_FILE, {
    status: 500,
    publicMessage: 'The secret could not be delivered.',
    detail: `${path} is ${what}: refusing to write a secret there (remove it if it is not an attack)`,
  });
}

/**
 * Reads a secret file without following a symlink at its name (O_NOFOLLOW: ELOOP), and only if it is a
 * regular file: a link planted where a secret is read would make Gatehouse present another file's
 * contents to the target system as a password. ENOENT passes through for the caller to read as "none".
 */
export async function readSecretFile(path: string): Promise<Buffer> {
  const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (!(await file.stat()).isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: SECRET_TARGET_NOT_A_FILE });
    return await file.readFile();
  } finally {
    await file.close();
  }
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

/** What a sweep did in one directory: file names only, never contents. */
export interface StaleSecretSweep {
  dir: string;
  /** Temporary files of processes that are gone, now removed. */
  removed: { file: string; pid: number }[];
  /** Temporary files of processes still alive (or of a pid reused since), left alone. */
  leftToLiveProcesses: { file: string; pid: number }[];
}

/**
 * Whether `pid` names a live process, as `kill(pid, 0)` answers: ESRCH means gone; EPERM means alive
 * but another user's, so alive. A reused pid reads as alive, which keeps the file (never the reverse).
 */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the `.gatehouse-new-<pid>-<n>` files a crashed writer left in `dir`. Our own pid counts as
 * dead except for the files this process is writing now: after a restart in a container the new
 * process often has the crashed one's pid, and its leftovers would otherwise stay (and collide).
 * A directory that does not exist has nothing to sweep.
 */
export async function sweepStaleSecretTemporaries(dir: string, isAlive: (pid: number) => boolean = processIsAlive): Promise<StaleSecretSweep> {
  const sweep: StaleSecretSweep = { dir, removed: [], leftToLiveProcesses: [] };
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [] as string[];
    throw error;
  });
  for (const file of names) {
    const match = TEMPORARY_NAME.exec(file);
    if (!match) continue;
    const pid = Number(match[1]);
    const path = join(dir, file);
    const ours = pid === process.pid;
    if ((ours && inFlight.has(path)) || (!ours && isAlive(pid))) {
      sweep.leftToLiveProcesses.push({ file, pid });
      continue;
    }
    const stat = await lstat(path).catch(() => undefined);
    // A directory of that name is not something a writer left: not ours to remove.
    if (stat === undefined || stat.isDirectory()) continue;
    // rm removes the name; a symlink of that name is removed itself, never what it points to.
    await rm(path, { force: true });
    sweep.removed.push({ file, pid });
  }
  if (sweep.removed.length > 0) await syncDirectory(dir);
  return sweep;
}
