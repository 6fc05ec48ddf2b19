import { Option, type Command } from 'commander';
import { DEFAULT_MODULES } from '@steward/agent/default-modules';
import { stringify } from 'yaml';
import { EXIT_FAILURE, reportError } from '../errors.js';
import { printJson, println } from '../output.js';
import { forever, onShutdown } from '../shutdown.js';

interface AgentOpts {
  server?: string[];
  enrollToken?: string;
  caSha256?: string;
  caFile?: string;
  insecure?: boolean;
  name?: string;
  label?: string[];
  dataDir?: string;
  pluginsDir?: string;
  config?: string;
  modules?: string;
  logLevel?: string;
  listen?: string;
  checkConfig?: boolean;
  json?: boolean;
  exitWithParent?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerAgent(program: Command): void {
  agentCommand(program.command('agent'));
}

/**
 * The agent's options and action on `cmd`: `steward agent`, and the whole of the agent-only
 * entry point (src/agent-main.ts, built into dist/steward-agent.mjs).
 */
export function agentCommand(cmd: Command): Command {
  return cmd
    .description('run the node agent (flags > --config file > STEWARD_* environment)')
    .option('--server <url>', 'control plane URL (default http://127.0.0.1:7070); repeatable or a comma list: replicas tried in order, the next when one fails (env STEWARD_SERVERS)', collect)
    .option('--enroll-token <token>', 'one-time token for the first start')
    .option('--ca-sha256 <pin>', "pin of the control plane's CA, sha256:<hex> (printed by `steward enroll create`); the CA is then kept in the data dir (env STEWARD_CA_SHA256)")
    .option('--ca-file <pem>', "trust this CA for the control plane instead of a pin (an operator's PKI; env STEWARD_CA_FILE)")
    .option('--insecure', 'allow http:// or an unpinned https:// to a non-loopback control plane (credentials could be read or stolen on the way)')
    .option('--name <name>', 'node name (default: chosen by the server)')
    .option('--label <k=v>', 'node label (repeatable)', collect)
    .option('--data-dir <dir>', 'where identity, journal and outbox live (default ~/.steward/agent)')
    .option('--plugins-dir <dir>', 'plugin modules, one folder each, loaded as they come and go (default <data-dir>/plugins; env STEWARD_PLUGINS_DIR)')
    .option('--config <file>', 'YAML config file')
    .option('--modules <list>', `comma-separated modules to enable; +name/-name change the default (${DEFAULT_MODULES.join(',')})`)
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--listen <host:port>', 'serve the inbound API MediaStack controllers call (X-API-KEY; see docs/compatibility.md)')
    .option('--check-config', 'print the resolved configuration (secrets masked) and exit')
    .option('--json', 'with --check-config: print JSON instead of YAML')
    // For the local agent of `steward up`: stop when that process is gone, even after a SIGKILL.
    .addOption(new Option('--exit-with-parent').hideHelp())
    .action(async (opts: AgentOpts) => {
      const { loadConfigLayers, loadStoredConfig, resolveConfig, describeConfig, startAgent } = await import('@steward/agent');
      const flags = {
        server: opts.server,
        enrollToken: opts.enrollToken,
        caSha256: opts.caSha256,
        caFile: opts.caFile,
        insecure: opts.insecure,
        name: opts.name,
        label: opts.label,
        dataDir: opts.dataDir,
        pluginsDir: opts.pluginsDir,
        config: opts.config,
        modules: opts.modules,
        logLevel: opts.logLevel,
        listen: opts.listen,
      };
      if (opts.checkConfig) {
        try {
          // What the agent would start with: the local sources, and the pushed config stored in its data dir.
          const layers = loadConfigLayers(flags, process.env);
          const local = resolveConfig(layers);
          const shown = describeConfig((await loadStoredConfig(layers, local.dataDir))?.config ?? local);
          if (opts.json) printJson(shown);
          else process.stdout.write(stringify(JSON.parse(JSON.stringify(shown))));
        } catch (e) {
          reportError(e);
          process.exitCode = EXIT_FAILURE;
        }
        return;
      }
      // The layers are kept: a pushed config is merged between them while the agent runs.
      const layers = loadConfigLayers(flags, process.env);
      const agent = await startAgent(resolveConfig(layers), { layers });
      println(`agent running as node ${agent.nodeId}`);
      onShutdown(() => agent.stop(), { withParent: opts.exitWithParent });
      await forever();
    });
}
