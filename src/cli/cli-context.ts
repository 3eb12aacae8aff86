import type { Readable } from 'node:stream';

/** Anything text is written to: process.stdout in the real binary, a buffer in an in-process test. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * Where one CLI run reads and writes. The binary passes the real process; tests pass buffers and run the
 * same program in-process, so behaviour is tested without paying a process start per call.
 */
export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly stdin: Readable & { readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** One run of the CLI: its streams, its global flags, and the exit code a finished command asks for. */
export interface CliContext {
  readonly io: CliIo;
  /** `--config` as given on this command line. */
  configFlag(): string | undefined;
  /** A command that completed but must exit non-zero (1: a check failed or a playbook is incomplete). */
  setExitCode(code: number): void;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
