#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerAccessCommands } from './access-commands.js';
import { registerDnsCommands } from './dns-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerHuntCommands } from './hunt-commands.js';
import { registerIncidentCommands } from './incident-commands.js';
import { fail } from './output.js';
import { registerServerCommands } from './server-commands.js';
import { registerSessionCommands } from './session-commands.js';
import { registerUserCommands } from './user-commands.js';

const program = new Command('gatehouse')
  .description('Gatehouse: phishing-resistant sign-in, access proxy, DNS gateway and incident response in one process')
  .option('-c, --config <file>', 'configuration file (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
  .showHelpAfterError()
  .exitOverride();

registerServerCommands(program);
registerUserCommands(program);
registerSessionCommands(program);
registerAccessCommands(program);
registerDnsCommands(program);
registerAuditCommands(program);
registerIncidentCommands(program);
registerHuntCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  fail(error);
}
