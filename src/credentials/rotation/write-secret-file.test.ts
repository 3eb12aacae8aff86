import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/support/error-code.js';
import { processIsAlive, SECRET_TARGET_NOT_A_FILE, sweepStaleSecretTemporaries, writeSecretFile } from './write-secret-file.js';

/**
 * Secret files on a real filesystem: the attacks in write-secret-file.ts's header (a planted symlink
 * or name, a crash's leftover holding a secret), each with the refusal or the sweep that answers it.
 * The kill -9 itself is test/cli/secret-file-crash-drill.test.ts.
 */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-secret-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = Buffer.from('s3cret-value\n');

describe('writeSecretFile', () => {
  it('writes the bytes to a 0600 file in a 0700 folder it creates, leaving no temporary file', async () => {
    const path = join(dir, 'new', 'svc.secret');
    await writeSecretFile(path, SECRET);
    expect(readFileSync(path)).toEqual(SECRET);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'new')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'new'))).toEqual(['svc.secret']);
    // Replacing an existing file keeps it private too, whatever mode it had.
    writeFileSync(path, 'old', { mode: 0o644 });
    await writeSecretFile(path, SECRET);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a symlink at the target with its code; what it points to is untouched', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me', { mode: 0o644 });
    const path = join(dir, 'svc.secret');
    symlinkSync(victim, path);
    expect(await codeOf(writeSecretFile(path, SECRET))).toBe(SECRET_TARGET_NOT_A_FILE);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['svc.secret', 'victim']);
    // A dangling link (pointing where the attacker can read) is refused as well.
    symlinkSync(join(dir, 'readable-by-attacker'), join(dir, 'other.secret'));
    expect(await codeOf(writeSecretFile(join(dir, 'other.secret'), SECRET))).toBe(SECRET_TARGET_NOT_A_FILE);
    expect(readdirSync(dir)).not.toContain('readable-by-attacker');
  });

  it('refuses a directory at the target', async () => {
    mkdirSync(join(dir, 'svc.secret'));
    expect(await codeOf(writeSecretFile(join(dir, 'svc.secret'), SECRET))).toBe(SECRET_TARGET_NOT_A_FILE);
  });

  it('skips a temporary name already taken (planted, or a crashed run under a reused pid) without opening or removing it', async () => {
    const taken = Array.from({ length: 8 }, (_, i) => `.gatehouse-new-${process.pid}-${i + 1}`);
    for (const name of taken) writeFileSync(join(dir, name), 'planted');
    await writeSecretFile(join(dir, 'svc.secret'), SECRET);
    expect(readFileSync(join(dir, 'svc.secret'))).toEqual(SECRET);
    for (const name of taken) expect(readFileSync(join(dir, name), 'utf8')).toBe('planted');
  });
});

describe('sweepStaleSecretTemporaries', () => {
  it('removes the files of dead processes and of this pid, keeps a live process’s and anything else', async () => {
    const dead = await exitedPid();
    expect(processIsAlive(dead)).toBe(false);
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const live = sleeper.pid!;
      expect(processIsAlive(live)).toBe(true);
      const files = {
        dead: `.gatehouse-new-${dead}-4`,
        // This pid, not being written now: a previous process that had the same pid (containers).
        ours: `.gatehouse-new-${process.pid}-9`,
        live: `.gatehouse-new-${live}-1`,
      };
      for (const name of Object.values(files)) writeFileSync(join(dir, name), 'secret', { mode: 0o600 });
      mkdirSync(join(dir, `.gatehouse-new-${dead}-5`));
      for (const name of ['svc.secret', '.gatehouse-new-0-1', '.gatehouse-new-12-x', 'gatehouse-new-12-1']) writeFileSync(join(dir, name), 'other');
      symlinkSync(join(dir, 'svc.secret'), join(dir, `.gatehouse-new-${dead}-6`));

      const sweep = await sweepStaleSecretTemporaries(dir);
      expect(sweep.removed.map((r) => r.file).sort()).toEqual([files.dead, files.ours, `.gatehouse-new-${dead}-6`].sort());
      expect(sweep.leftToLiveProcesses).toEqual([{ file: files.live, pid: live }]);
      expect(readdirSync(dir).sort()).toEqual(['.gatehouse-new-0-1', '.gatehouse-new-12-x', `.gatehouse-new-${dead}-5`, files.live, 'gatehouse-new-12-1', 'svc.secret'].sort());
      // The symlink was removed, not what it pointed to.
      expect(readFileSync(join(dir, 'svc.secret'), 'utf8')).toBe('other');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('finds nothing in a folder that does not exist yet', async () => {
    expect(await sweepStaleSecretTemporaries(join(dir, 'absent'))).toEqual({ dir: join(dir, 'absent'), removed: [], leftToLiveProcesses: [] });
  });
});

/** The pid of a process that has exited, waited for without blocking the test worker's event loop. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}
