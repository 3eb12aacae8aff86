import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerAccessCommands } from './access-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerCampaignCommands } from './campaign-commands.js';
import type { CliContext, CliIo } from './cli-context.js';
import { registerDnsCommands } from './dns-commands.js';
import { registerHuntCommands } from './hunt-commands.js';
import { registerIncidentCommands } from './incident-commands.js';
import { registerInventoryCommands } from './inventory-commands.js';
import { registerLoginCommands } from './login-commands.js';
import { registerReportCommands } from './report-commands.js';
import { registerSecretsCommands } from './secrets-commands.js';
import { registerServerCommands } from './server-commands.js';
import { registerSessionCommands } from './session-commands.js';
import { registerSshCommands } from './ssh-commands.js';
import { registerTokenCommands } from './token-commands.js';
import { registerTunnelCommands } from './tunnel-commands.js';
import { registerUserCommands } from './user-commands.js';

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
 * The whole command tree for one run, writing to `io` and never exiting the process itself. Command
 * files import the capabilities they drive inside their actions: the tree itself loads in a fraction of
 * the time, and each command pays only for what it uses (a responder's `ip block` in an incident).
 */
export function createProgram(io: CliIo): { program: Command; exitCode: () => number } {
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
  registerServerCommands(program, cli);
  registerUserCommands(program, cli);
  registerSessionCommands(program, cli);
  registerAccessCommands(program, cli);
  registerDnsCommands(program, cli);
  registerAuditCommands(program, cli);
  registerIncidentCommands(program, cli);
  registerHuntCommands(program, cli);
  registerSecretsCommands(program, cli);
  registerTokenCommands(program, cli);
  registerInventoryCommands(program, cli);
  registerCampaignCommands(program, cli);
  registerLoginCommands(program, cli);
  registerSshCommands(program, cli);
  registerTunnelCommands(program, cli);
  registerReportCommands(program, cli);
  return { program, exitCode: () => exitCode };
}
