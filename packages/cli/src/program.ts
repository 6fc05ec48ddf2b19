import { Command, Option } from 'commander';
import { registerAgent } from './commands/agent.js';
import { registerCommands } from './commands/commands.js';
import { registerEnroll } from './commands/enroll.js';
import { registerEvents } from './commands/events.js';
import { registerJobs } from './commands/jobs.js';
import { registerNodes } from './commands/nodes.js';
import { registerRun } from './commands/run.js';
import { registerServer } from './commands/server.js';
import { registerServices } from './commands/services.js';
import { registerShell } from './commands/shell.js';
import { registerUp } from './commands/up.js';
import { registerTokens } from './commands/tokens.js';
import { registerArtifacts } from './commands/artifacts.js';
import { registerBackups } from './commands/backups.js';
import { registerSessions } from './commands/sessions.js';
import { registerAlerts } from './commands/alerts.js';
import { registerWebhooks } from './commands/webhooks.js';
import { registerTasks } from './commands/tasks.js';
import { registerApprovals, registerAudit } from './commands/audit.js';
import { registerConfig } from './commands/config.js';

export const VERSION = '0.1.0';

/**
 * The whole `steward` command tree. Settings made here (exit override, positional
 * options) are inherited by every subcommand because they are set before any is added.
 */
export function buildProgram(): Command {
  const program = new Command('steward')
    .description('Steward: fleet control plane and node agent')
    .version(VERSION)
    // Program options only before the subcommand, so `agent --server` stays the agent's own.
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError()
    .addOption(new Option('--server <url>', 'control plane URL for operator commands (env STEWARD_SERVER)'))
    .addOption(new Option('--token <token>', 'API token for operator commands (env STEWARD_TOKEN)'))
    .addOption(new Option('--ca-file <pem>', 'CA to trust for an https control plane (env STEWARD_CA_FILE)'))
    .addHelpText(
      'after',
      `
Operator commands find the server from --server/--token, else STEWARD_SERVER/STEWARD_TOKEN,
else the local server's data dir ($STEWARD_DATA_DIR or ~/.steward/server).

Examples:
  steward up
  steward enroll create --label env=prod
  steward nodes ls
  steward run --selector env=prod -- uptime`,
    );

  registerServer(program);
  registerAgent(program);
  registerUp(program);
  registerEnroll(program);
  registerNodes(program);
  registerRun(program);
  registerShell(program);
  registerCommands(program);
  registerJobs(program);
  registerEvents(program);
  registerTokens(program);
  registerServices(program);
  registerArtifacts(program);
  registerBackups(program);
  registerSessions(program);
  registerAlerts(program);
  registerWebhooks(program);
  registerTasks(program);
  registerAudit(program);
  registerApprovals(program);
  registerConfig(program);
  return program;
}
