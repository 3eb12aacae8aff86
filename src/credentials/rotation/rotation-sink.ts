import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { RotationSinkConfig } from '../../config/index.js';
import { rotationError } from './rotation-error.js';
import type { RotationContext, RotationTarget } from './rotator.js';
import { runProcess } from './run-process.js';

/** Where a configured rotator puts new secrets, and where it reads the one in use for the probe. */
export interface RotationSink {
  /** `file:/path` or what the command said; never the secret. */
  describe(): string;
  deliver: RotationContext['deliverSecret'];
  previous: NonNullable<RotationContext['previousSecret']>;
}

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
  return template.replaceAll('{name}', name).replaceAll('{item}', target.itemId.replace(/[^A-Za-z0-9_.-]/g, '_'));
}

/**
 * One 0600 file per credential in a 0700 directory. The file is both the delivery and the record of
 * the secret in use: the owning service reads it, and the probe reads it as the old secret before it
 * is replaced. The new file is written beside the old one (O_EXCL: never through a file or symlink
 * someone else put there) and renamed over it, so a reader never sees half a secret.
 */
function directorySink(dir: string, template: string): RotationSink {
  let writes = 0;
  const pathOf = (target: RotationTarget) => join(dir, fileNameOf(template, target));
  return {
    describe: () => `directory ${dir}`,
    async deliver(target, secret) {
      const path = pathOf(target);
      const temporary = join(dir, `.gatehouse-new-${process.pid}-${(writes += 1)}`);
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeFile(temporary, secret, { mode: 0o600, flag: 'wx' });
        await chmod(temporary, 0o600);
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => undefined);
        throw rotationError('rotation_sink_failed', `${target.itemId}: the new secret could not be written to ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      return `file:${path}`;
    },
    async previous(target) {
      const path = pathOf(target);
      try {
        const content = await readFile(path);
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
  return {
    describe: () => `command ${program}`,
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
  return execSink(config);
}
