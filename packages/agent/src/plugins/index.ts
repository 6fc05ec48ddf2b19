import { join } from 'node:path';
import type { Logger } from 'pino';
import { PLUGINS_MODULE, type PushedPlugin } from '@steward/protocol';
import type { AgentConfig } from '../core/config-schema.js';
import type { ServerLink } from '../link/server-link.js';
import { moduleFolderNames } from '../modules/folders.js';
import type { AgentModule } from '../modules/types.js';
import { PluginInstaller } from './installer.js';
import { PluginManager, type PluginState } from './manager.js';
import { guardPluginFailures } from './process-guard.js';

export { PLUGINS_MODULE };

export interface AgentPluginsDeps {
  config: AgentConfig;
  log: Logger;
  link: ServerLink;
  /** Registers and starts a plugin's module with its settings section (the agent's module host). */
  load(mod: AgentModule): Promise<void>;
  /** Turns a plugin's module off (running commands first) and takes its types away. */
  unload(name: string): Promise<void>;
  emit(module: string, event: string, data: unknown): void;
}

export interface AgentPlugins {
  /** The plugins' states, for the module report. */
  report(): { plugins: PluginState[] };
  /** Installs what a pushed config lists (and removes what it installed and no longer lists); throws having installed nothing. */
  apply(list: readonly PushedPlugin[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Plugins of a running agent: loads the plugins dir before the agent takes commands (so a
 * plugin's interrupted command can be re-run), then follows it; pushed plugins are installed
 * into it from the artifact store.
 */
export async function startPlugins(deps: AgentPluginsDeps): Promise<AgentPlugins> {
  const { config, log } = deps;
  const reserved = new Set([...moduleFolderNames(), PLUGINS_MODULE]);
  const plog = log.child({ module: PLUGINS_MODULE });
  const unguard = guardPluginFailures(plog, [config.pluginsDir, join(config.dataDir, 'plugin-code')]);
  const manager = new PluginManager({
    dir: config.pluginsDir,
    snapshots: join(config.dataDir, 'plugin-code'),
    log: plog,
    host: {
      reserved,
      add: (mod) => deps.load(mod),
      remove: (name) => deps.unload(name),
      event: (event, data) => deps.emit(PLUGINS_MODULE, event, data),
    },
  });
  const installer = new PluginInstaller({ dir: config.pluginsDir, link: deps.link, log: plog, reserved, changed: () => manager.scan() });
  await manager.start();
  return {
    report: () => manager.report(),
    apply: async (list) => void (await installer.apply(list)),
    stop: async () => {
      await manager.stop();
      unguard();
    },
  };
}
