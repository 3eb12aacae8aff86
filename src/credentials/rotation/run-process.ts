import { spawn } from 'node:child_process';

export interface ProcessResult {
  /** The exit code, or undefined when the process was killed (see `timedOut`) or could not start. */
  exitCode: number | undefined;
  timedOut: boolean;
  /** Set when the binary could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
  stdout: string;
  stderr: string;
}

export interface RunProcessOptions {
  stdin?: string | Buffer;
  timeoutMs: number;
  /** Output beyond this is dropped (a runaway child cannot fill our memory). */
  maxOutputBytes?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs an argv array without a shell (no word splitting, no globbing, no `;`: nothing in an argument
 * can become a second command), asynchronously, bounded in time and output.
 */
export function runProcess(argv: readonly string[], options: RunProcessOptions): Promise<ProcessResult> {
  const { stdin, timeoutMs, maxOutputBytes = 1 << 20, env } = options;
  const [command, ...args] = argv;
  if (!command) throw new TypeError('runProcess: empty argv');
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], shell: false, ...(env ? { env } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let timedOut = false;
    let settled = false;
    const finish = (result: Omit<ProcessResult, 'stdout' | 'stderr' | 'timedOut'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, timedOut, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes < maxOutputBytes) out.push(chunk.subarray(0, maxOutputBytes - outBytes));
      outBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errBytes < maxOutputBytes) err.push(chunk.subarray(0, maxOutputBytes - errBytes));
      errBytes += chunk.length;
    });
    child.once('error', (error: NodeJS.ErrnoException) => finish({ exitCode: undefined, spawnError: error.code ?? 'spawn failed' }));
    child.once('close', (code) => finish({ exitCode: code ?? undefined }));
    // A child that exits without reading its input must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}
