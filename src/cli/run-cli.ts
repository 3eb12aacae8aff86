import { CommanderError } from 'commander';
import type { CliIo } from './cli-context.js';
import { reportFailure } from './output.js';
import { createProgram } from './program.js';

/**
 * Runs one command line (without the `node gatehouse` prefix) and resolves to its exit code:
 * 0 success, 1 refused or failed, 2 bad usage or configuration. Errors are reported on `io.stderr`.
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const { program, exitCode } = createProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return exitCode();
  } catch (error) {
    // Commander has already printed its message (and the help) through configureOutput.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return reportFailure(io.stderr, error);
  }
}
