import { Command, Option } from 'commander';

export const VERSION = '0.1.0';

type Register = (program: Command) => void;

/**
 * Every top-level command: its name, the description `steward --help` lists, and the module
 * that registers it. Only the module named on the command line is imported, so `steward nodes
 * ls` does not load the control plane, the agent or the other commands (issue 17: CLI start-up
 * is part of every call's wall time). Kept in step with the modules by test/program.test.ts.
 */
export const COMMANDS: readonly { name: string; description: string; load: () => Promise<Register> }[] = [
  { name: 'server', description: 'run the control plane (API, agent connections, store)', load: async () => (await import('./commands/server.js')).registerServer },
  { name: 'agent', description: 'run the node agent (flags > --config file > STEWARD_* environment)', load: async () => (await import('./commands/agent.js')).registerAgent },
  { name: 'up', description: 'run a control plane with one local agent (what `npm start` runs)', load: async () => (await import('./commands/up.js')).registerUp },
  { name: 'enroll', description: 'manage enrollment tokens for new agents', load: async () => (await import('./commands/enroll.js')).registerEnroll },
  { name: 'nodes', description: 'list and manage nodes', load: async () => (await import('./commands/nodes.js')).registerNodes },
  { name: 'agents', description: 'fleet-wide agent upgrades with automatic rollback', load: async () => (await import('./commands/agents.js')).registerAgents },
  { name: 'run', description: 'run a command on nodes (exec.run through a job) and print its output as it comes', load: async () => (await import('./commands/run.js')).registerRun },
  { name: 'shell', description: 'open an interactive terminal on a node (like ssh or kubectl exec -it)', load: async () => (await import('./commands/shell.js')).registerShell },
  { name: 'commands', description: 'submit, inspect and cancel single-node commands', load: async () => (await import('./commands/commands.js')).registerCommands },
  { name: 'jobs', description: 'inspect jobs (one command fanned out to many nodes)', load: async () => (await import('./commands/jobs.js')).registerJobs },
  { name: 'events', description: 'follow live events until interrupted', load: async () => (await import('./commands/events.js')).registerEvents },
  {
    name: 'tokens',
    description: 'manage operator API tokens (admin: everything; operator: read and change; reader: read only)',
    load: async () => (await import('./commands/tokens.js')).registerTokens,
  },
  { name: 'services', description: 'supervised services: desired state, per-node status, logs', load: async () => (await import('./commands/services.js')).registerServices },
  {
    name: 'artifacts',
    description: "the control plane's content-addressed file store (uploads and downloads are streamed)",
    load: async () => (await import('./commands/artifacts.js')).registerArtifacts,
  },
  { name: 'backups', description: 'directory backups (tar.gz + SHA-256 manifest), restores and schedules', load: async () => (await import('./commands/backups.js')).registerBackups },
  {
    name: 'sessions',
    description: 'recorded terminal sessions (`steward shell`, the dashboard terminal): list, show, replay file, delete (operator)',
    load: async () => (await import('./commands/sessions.js')).registerSessions,
  },
  { name: 'alerts', description: 'alerts from monitors and the control plane (default: ls)', load: async () => (await import('./commands/alerts.js')).registerAlerts },
  {
    name: 'webhooks',
    description: 'URLs that receive signed notifications of alerts and of command, job, task and service events (admin/operator)',
    load: async () => (await import('./commands/webhooks.js')).registerWebhooks,
  },
  { name: 'tasks', description: 'compute tasks placed by the scheduler on nodes that meet their requirements', load: async () => (await import('./commands/tasks.js')).registerTasks },
  {
    name: 'audit',
    description: 'list operator actions from the hash-chained audit log, newest first (admin and operator tokens)',
    load: async () => (await import('./commands/audit.js')).registerAudit,
  },
  // registerApprovals adds approvals, approve and reject: one module, three names.
  { name: 'approvals', description: 'commands and jobs awaiting a second operator, and the policies that hold them', load: async () => (await import('./commands/audit.js')).registerApprovals },
  { name: 'approve', description: 'approve a command or a whole job awaiting approval (not one you submitted)', load: async () => (await import('./commands/audit.js')).registerApprovals },
  { name: 'reject', description: 'reject a command or a whole job awaiting approval; it is cancelled', load: async () => (await import('./commands/audit.js')).registerApprovals },
  {
    name: 'config',
    description: 'desired agent configuration: layered documents merged by priority into one config per node, pushed live',
    load: async () => (await import('./commands/config.js')).registerConfig,
  },
];

/** Program options that take a value: the word after them is not the subcommand's name. */
const VALUED_OPTIONS = new Set(['--server', '--token', '--ca-file']);

/**
 * The top-level command argv names (`steward [program options] <name> …`, or `steward help
 * <name>`), or null when there is none (`--help`, `--version`, nothing, a word that is no command).
 */
export function commandNamed(argv: readonly string[]): string | null {
  const words: string[] = [];
  const args = argv.slice(2);
  for (let i = 0; i < args.length && words.length < 2; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (VALUED_OPTIONS.has(a)) i++;
    else if (!a.startsWith('-')) words.push(a);
    if (words[0] !== undefined && words[0] !== 'help') break;
  }
  const name = words[0] === 'help' ? words[1] : words[0];
  return COMMANDS.some((c) => c.name === name) ? name! : null;
}

function baseProgram(): Command {
  return (
    new Command('steward')
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
      )
  );
}

/**
 * The `steward` command tree for argv. Settings made on the program (exit override, positional
 * options) are inherited by every subcommand because they are set before any is added. Only the
 * command argv names is loaded; every other one is a stub with its name and description, enough
 * for the `--help` list, "did you mean" suggestions and `--version`.
 */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = baseProgram();
  const named = commandNamed(argv);
  if (named !== null) (await COMMANDS.find((c) => c.name === named)!.load())(program);
  const present = new Set(program.commands.map((c) => c.name()));
  for (const c of COMMANDS) if (!present.has(c.name)) program.command(c.name).description(c.description);
  // Commander lists commands in the order they were added; keep the static list's order.
  const order = new Map(COMMANDS.map((c, i) => [c.name, i]));
  (program.commands as Command[]).sort((a, b) => (order.get(a.name()) ?? 0) - (order.get(b.name()) ?? 0));
  return program;
}

/** The whole tree with every module loaded (tests compare it with COMMANDS). */
export async function buildFullProgram(): Promise<Command> {
  const program = baseProgram();
  const seen = new Set<Register>();
  for (const c of COMMANDS) {
    const register = await c.load();
    if (seen.has(register)) continue;
    seen.add(register);
    register(program);
  }
  return program;
}
