import type { Command } from 'commander';
import { registerAccessCommands } from './access-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { createBareProgram } from './bare-program.js';
import { registerCampaignCommands } from './campaign-commands.js';
import type { CliIo } from './cli-context.js';
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

export { packageVersion } from './bare-program.js';

/**
 * The whole command tree for one run, writing to `io` and never exiting the process itself. Command
 * files import the capabilities they drive inside their actions: the tree itself loads in a fraction of
 * the time, and each command pays only for what it uses (a responder's `ip block` in an incident).
 */
export function createProgram(io: CliIo): { program: Command; exitCode: () => number } {
  const { program, cli, exitCode } = createBareProgram(io);
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
  return { program, exitCode };
}
