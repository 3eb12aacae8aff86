/**
 * Runs the Gatehouse CLI for tests. `runGatehouse` runs the real command tree in-process with buffers
 * for its streams (behaviour tests: milliseconds a call, and the worker's event loop stays free);
 * `runGatehouseProcess` starts the CLI built once for the whole run (`test/global-setup.ts`) as a separate
 * process, for the few tests whose point is the process boundary: exit status, piped input, another
 * process writing the database a running server reads.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/cli-context.js';
import { runCli } from '../../src/cli/run-cli.js';
import { builtCli, ROOT } from './paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Passed as `--config FILE` before the command. */
  config?: string;
  /** Standard input (a pipe that is not a terminal); default: empty. */
  input?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

function argv(args: readonly string[], options: CliOptions): string[] {
  return [...(options.config ? ['--config', options.config] : []), ...args];
}

export async function runGatehouse(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(options.input === undefined ? [] : [options.input]),
    env: options.env ?? {},
    cwd: options.cwd ?? ROOT,
  };
  const code = await runCli(argv(args, options), io);
  return { code, stdout, stderr };
}

export function runGatehouseProcess(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [builtCli(), ...argv(args, options)], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH, ...options.env },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
