import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { CliContext, CliIo } from './cli-context.js';

let version: string | undefined;

/**
 * The package version, from the nearest package.json above this file: two folders up in src/ and
 * dist/, further in a transpiled copy (the tests' build tree). Read once per process.
 */
export function packageVersion(): string {
  if (version !== undefined) return version;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gatehouse' && pkg.version) return (version = pkg.version);
    }
    if (dirname(dir) === dir) return (version = 'unknown');
  }
}

/**
 * The `gatehouse` command with its global options and no subcommand: the whole tree (`createProgram`)
 * and the lean one `gatehouse tunnel` starts with both grow from it, so they parse alike.
 */
export function createBareProgram(io: CliIo): { program: Command; cli: CliContext; exitCode: () => number } {
  let exitCode = 0;
  const program = new Command('gatehouse')
    .description('Gatehouse: phishing-resistant sign-in, access proxy, DNS gateway and incident response in one process')
    .version(packageVersion(), '-V, --version', 'print the Gatehouse version')
    .option('-c, --config <file>', 'configuration file (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError()
    .exitOverride();
  const cli: CliContext = {
    io,
    configFlag: () => program.opts<{ config?: string }>().config,
    setExitCode: (code) => {
      exitCode = Math.max(exitCode, code);
    },
  };
  return { program, cli, exitCode: () => exitCode };
}
