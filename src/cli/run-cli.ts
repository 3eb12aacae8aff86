import { CommanderError, type Command } from 'commander';
import type { CliIo } from './cli-context.js';

/**
 * The program for `args`. `gatehouse tunnel` loads its own command only: as ssh's ProxyCommand it starts
 * once per connection, and the whole tree (every capability's modules) would add a second of start-up on a
 * busy machine to each `ssh`, `scp` or `rsync`. Anything else gets the whole tree.
 */
async function programFor(args: readonly string[], io: CliIo): Promise<{ program: Command; exitCode: () => number }> {
  if (args[0] === 'tunnel') {
    const [{ createBareProgram }, { registerTunnelCommands }] = await Promise.all([import('./bare-program.js'), import('./tunnel-commands.js')]);
    const { program, cli, exitCode } = createBareProgram(io);
    registerTunnelCommands(program, cli);
    return { program, exitCode };
  }
  return (await import('./program.js')).createProgram(io);
}

/**
 * Runs one command line (without the `node gatehouse` prefix) and resolves to its exit code:
 * 0 success, 1 refused or failed, 2 bad usage or configuration. Errors are reported on `io.stderr`.
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  try {
    const { program, exitCode } = await programFor(args, io);
    await program.parseAsync([...args], { from: 'user' });
    return exitCode();
  } catch (error) {
    // Commander has already printed its message (and the help) through configureOutput.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    // Loaded on failure only: it reads the config's error type (the schema), which a tunnel never needs.
    const { reportFailure } = await import('./output.js');
    return reportFailure(io.stderr, error);
  }
}
