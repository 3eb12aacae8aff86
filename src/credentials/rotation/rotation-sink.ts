import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { RotationSinkConfig } from '../../config/index.js';
import { rotationError } from './rotation-error.js';
import type { RotationContext, RotationStaging, RotationTarget } from './rotator.js';
import { runProcess } from './run-process.js';
import { readSecretFile, syncDirectory, writeSecretFile } from './write-secret-file.js';

/** Where a configured rotator puts new secrets, and where it reads the one in use for the probe. */
export interface RotationSink {
  /** `file:/path` or what the command said; never the secret. */
  describe(): string;
  deliver: RotationContext['deliverSecret'];
  previous: NonNullable<RotationContext['previousSecret']>;
  /** The write-ahead of new secrets; absent when the sink has nowhere private to stage them. */
  staging?: RotationStaging;
}

/** A staged secret sits beside the file it will replace, so it is on the same filesystem and as private. */
const PENDING_SUFFIX = '.pending';

const MAX_SECRET_BYTES = 64 * 1024;

/**
 * `{name}` and `{item}` in a sink's file name. An item name that is not a plain file name is refused
 * rather than rewritten: two names rewritten to one file would hand one service another's secret.
 */
function fileNameOf(template: string, target: RotationTarget): string {
  const name = target.name ?? target.itemId;
  if (template.includes('{name}') && (!/^[A-Za-z0-9_.@-]{1,200}$/.test(name) || name.startsWith('.'))) {
    throw rotationError('rotation_sink_failed', `${target.itemId}: the item name is not usable as a file name (letters, digits, _ . @ -, not starting with a dot); use {item} in file_name`);
  }
  const file = template.replaceAll('{name}', name).replaceAll('{item}', target.itemId.replace(/[^A-Za-z0-9_.-]/g, '_'));
  // Another item's staged secret lives at `<file>.pending`: a file named so would be handed that secret.
  if (file.endsWith(PENDING_SUFFIX)) throw rotationError('rotation_sink_failed', `${target.itemId}: the file name ends with ${PENDING_SUFFIX}, which is where staged secrets are kept`);
  return file;
}

/**
 * Staging in `<file>.pending` files: 0600, written durably (see writeSecretFile), read back exactly as
 * written, in a directory only Gatehouse and the owning service can enter.
 */
function fileStaging(pendingPathOf: (target: RotationTarget) => string): RotationStaging {
  const failed = (target: RotationTarget, what: string, path: string, error: unknown) =>
    rotationError('rotation_staging_failed', `${target.itemId}: the staged secret could not be ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  return {
    async stage(target, secret) {
      const path = pendingPathOf(target);
      await writeSecretFile(path, secret).catch((error: unknown) => {
        throw failed(target, 'written to', path, error);
      });
    },
    async staged(target) {
      const path = pendingPathOf(target);
      try {
        const content = await readSecretFile(path);
        return content.length > MAX_SECRET_BYTES || content.length === 0 ? undefined : content;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw failed(target, 'read from', path, error);
      }
    },
    async discard(target) {
      const path = pendingPathOf(target);
      await rm(path, { force: true }).catch((error: unknown) => {
        throw failed(target, 'removed from', path, error);
      });
      await syncDirectory(dirname(path));
    },
  };
}

/**
 * One 0600 file per credential in a 0700 directory. The file is both the delivery and the record of
 * the secret in use: the owning service reads it, and the probe reads it as the old secret before it
 * is replaced. It is written durably and atomically (writeSecretFile), so a reader never sees half a
 * secret; a new secret is staged beside it in `<file>.pending` before the target changes.
 */
function directorySink(dir: string, template: string): RotationSink {
  const pathOf = (target: RotationTarget) => join(dir, fileNameOf(template, target));
  return {
    describe: () => `directory ${dir}`,
    staging: fileStaging((target) => `${pathOf(target)}${PENDING_SUFFIX}`),
    async deliver(target, secret) {
      const path = pathOf(target);
      try {
        await writeSecretFile(path, secret);
      } catch (error) {
        throw rotationError('rotation_sink_failed', `${target.itemId}: the new secret could not be written to ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      return `file:${path}`;
    },
    async previous(target) {
      const path = pathOf(target);
      try {
        const content = await readSecretFile(path);
        // A text secret written by hand usually ends with a newline the service does not send.
        return content.length > MAX_SECRET_BYTES ? undefined : stripFinalNewline(content);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw rotationError('rotation_sink_failed', `${target.itemId}: the secret in use could not be read from ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    },
  };
}

function stripFinalNewline(content: Buffer): Buffer {
  let end = content.length;
  if (end > 0 && content[end - 1] === 0x0a) end -= 1;
  if (end > 0 && content[end - 1] === 0x0d) end -= 1;
  return content.subarray(0, end);
}

type ExecSinkConfig = Extract<RotationSinkConfig, { type: 'exec' }>;

/**
 * A command receives the new secret on stdin: never in argv or the environment, which other local
 * users and crash reports can read. Its stderr is never shown (a script may print the secret there).
 */
function execSink(config: ExecSinkConfig): RotationSink {
  const envOf = (target: RotationTarget) => ({
    PATH: '/usr/local/bin:/usr/bin:/bin',
    GATEHOUSE_ROTATION_ITEM: target.itemId,
    GATEHOUSE_ROTATION_NAME: target.name ?? '',
    GATEHOUSE_ROTATION_LOCATOR: JSON.stringify(target.locator),
  });
  const program = config.deliver.argv[0] as string;
  const stagingDir = config.staging_dir;
  return {
    describe: () => `command ${program}`,
    // The command's store may not be able to hold a secret aside, so Gatehouse stages it in a folder of
    // its own, one file per item named by a hash of its id (distinct ids never share a file).
    ...(stagingDir === undefined ? {} : { staging: fileStaging((target) => join(stagingDir, `${createHash('sha256').update(target.itemId).digest('hex')}${PENDING_SUFFIX}`)) }),
    async deliver(target, secret) {
      const result = await runProcess(config.deliver.argv, { stdin: secret, timeoutMs: config.deliver.timeout_ms, maxOutputBytes: 4096, env: envOf(target) });
      if (result.timedOut || result.spawnError || result.exitCode !== 0) {
        const how = result.timedOut ? 'timed out' : result.spawnError ? `could not start (${result.spawnError})` : `exited ${result.exitCode ?? 'by a signal'}`;
        throw rotationError('rotation_sink_failed', `${target.itemId}: the delivery command ${program} ${how} (stderr not shown)`);
      }
      // One line naming where the secret went, if printed; anything else is not repeated (it might be the secret).
      const line = result.stdout.trim();
      return /^[\x20-\x7e]{1,300}$/.test(line) && !line.includes(secret.toString('utf8')) ? line : `exec:${program}`;
    },
    async previous(target) {
      if (!config.read_previous) return undefined;
      const command = config.read_previous;
      const result = await runProcess(command.argv, { timeoutMs: command.timeout_ms, maxOutputBytes: MAX_SECRET_BYTES + 1, env: envOf(target) });
      if (result.timedOut || result.spawnError || result.exitCode !== 0 || Buffer.byteLength(result.stdout) > MAX_SECRET_BYTES) {
        throw rotationError('rotation_sink_failed', `${target.itemId}: the command ${command.argv[0] as string} could not read the secret in use`);
      }
      return stripFinalNewline(Buffer.from(result.stdout, 'utf8'));
    },
  };
}

/** Builds a sink from its config; relative directories are relative to the config file's folder. */
export function rotationSinkFromConfig(config: RotationSinkConfig, baseDir: string): RotationSink {
  if (config.type === 'directory') return directorySink(isAbsolute(config.path) ? config.path : resolve(baseDir, config.path), config.file_name);
  const { staging_dir: stagingDir, ...rest } = config;
  return execSink(stagingDir === undefined ? rest : { ...rest, staging_dir: isAbsolute(stagingDir) ? stagingDir : resolve(baseDir, stagingDir) });
}

/**
 * The folders a sink writes secret files into (its directory, its staging folder): where a crashed
 * write can have left a temporary file holding a secret (see sweepStaleSecretTemporaries).
 */
export function secretDirectoriesOf(config: RotationSinkConfig, baseDir: string): string[] {
  const at = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  if (config.type === 'directory') return [at(config.path)];
  return config.staging_dir === undefined ? [] : [at(config.staging_dir)];
}
