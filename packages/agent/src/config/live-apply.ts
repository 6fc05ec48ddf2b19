import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { PushedConfig, PushedPlugin } from '@steward/protocol';
import { AgentError } from '../core/errors.js';
import type { AgentConfig } from '../core/config-schema.js';
import type { ModuleHost } from '../modules/host.js';
import type { ResolvedConfig } from './pushed.js';

/** The configuration in force: the pushed document it came from (empty: none) and its revision. */
export interface InForce extends ResolvedConfig {
  revision: string | null;
  pushed: PushedConfig;
}

export interface LiveApplyDeps {
  host: ModuleHost;
  /** Commands started from now on see this config (the Executor). */
  executor: { setConfig(config: AgentConfig): void };
  log: Logger;
  /** The heartbeat interval the config sets; undefined: the node's own setting (from welcome) applies. */
  heartbeat(ms: number | undefined): void;
  /** The capabilities the config adds to the detected ones. */
  capabilities(list: string[]): void;
  /**
   * The pushed control-plane URL list (undefined: none any more, the local list again), handed
   * to `ServerList.propose`: kept only once a server of it welcomed the agent.
   */
  servers(urls: string[] | undefined): void;
  /** The pushed plugins list (plugins part: fetch, verify and install); throwing refuses the config. */
  plugins?(list: PushedPlugin[]): Promise<void>;
}

/** A config that validated but could not be applied; everything was put back as it was. */
export class ConfigApplyError extends AgentError<'config_rejected'> {
  constructor(message: string) {
    super('config_rejected', message);
  }
}

/**
 * Moves the running agent from `prev` to `next`, which resolvePushedConfig already checked whole.
 * Modules first, in an order that can be undone: turned off (commands drained), reconfigured
 * (their own `reconfigure`, else restarted), turned on, then the pushed plugins. If any step
 * throws, the steps done are undone in reverse and ConfigApplyError is thrown: never half-applied.
 * The rest cannot fail and follows: executor config (fs roots, exec limits), log level,
 * heartbeat, capabilities, server list.
 */
export async function applyLive(deps: LiveApplyDeps, prev: InForce, next: InForce): Promise<void> {
  const { host, log } = deps;
  const undo: { what: string; run: () => Promise<void> }[] = [];
  const wanted = new Set(next.config.modules);
  try {
    for (const name of prev.config.modules.filter((n) => !wanted.has(n))) {
      const settings = host.settings(name);
      log.info({ module: name }, `turning module ${name} off: its new commands are refused (module_disabled), running ones may finish first`);
      const mod = await host.disable(name, { keepRefusing: true });
      log.info({ module: name }, 'module turned off by configuration');
      if (mod) undo.push({ what: `turn ${name} on again`, run: () => host.enable(mod, settings) });
    }
    for (const mod of host.registry.loaded()) {
      if (!(mod.name in next.settings) || isDeepStrictEqual(host.settings(mod.name), next.settings[mod.name])) continue;
      const old = host.settings(mod.name);
      await host.reconfigure(mod.name, next.settings[mod.name]).catch(async (e: unknown) => {
        // A restart that failed to start again leaves the module out: it is put back with its old settings.
        if (!host.registry.module(mod.name)) await host.enable(mod, old);
        throw e;
      });
      log.info({ module: mod.name }, 'module settings changed by configuration');
      undo.push({ what: `restore the settings of ${mod.name}`, run: () => host.reconfigure(mod.name, old) });
    }
    const had = new Set(prev.config.modules);
    for (const mod of next.modules.filter((m) => next.config.modules.includes(m.name) && !had.has(m.name))) {
      await host.enable(mod, next.settings[mod.name]);
      log.info({ module: mod.name }, 'module turned on by configuration');
      undo.push({ what: `turn ${mod.name} off again`, run: async () => void (await host.disable(mod.name, { keepRefusing: false })) });
    }
    if (deps.plugins && !isDeepStrictEqual(prev.pushed.plugins ?? [], next.pushed.plugins ?? [])) await deps.plugins(next.pushed.plugins ?? []);
  } catch (e) {
    for (const step of undo.reverse()) {
      await step.run().catch((err: unknown) => log.error({ err }, `rolling back a configuration: could not ${step.what}`));
    }
    const why = e instanceof Error ? e.message : String(e);
    throw new ConfigApplyError(`the configuration could not be applied, the previous one stays in force: ${why}`);
  }
  deps.executor.setConfig(next.config);
  if (log.level !== next.config.logLevel) log.level = next.config.logLevel;
  if (prev.heartbeatMs !== next.heartbeatMs) deps.heartbeat(next.heartbeatMs);
  if (!isDeepStrictEqual(prev.config.capabilities, next.config.capabilities)) deps.capabilities(next.config.capabilities);
  if (!isDeepStrictEqual(prev.pushed.servers, next.pushed.servers)) deps.servers(next.pushed.servers);
}
