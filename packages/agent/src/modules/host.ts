import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from '../core/config-schema.js';
import type { ServerLink } from '../link/server-link.js';
import { resolveModuleSettings, type ModuleRegistry } from './registry.js';
import type { AgentModule, ModuleInstance } from './types.js';

/** What the host needs of the executor to turn a module off (Executor implements it). */
export interface ModuleGate {
  /** New commands of these types fail with `module_disabled`. */
  refuseTypes(module: string, types: string[]): void;
  /** The module's types run again. */
  allowModule(module: string): void;
  /** Waits for the module's running commands up to `graceMs`, then cancels the rest. */
  drainModule(module: string, graceMs: number): Promise<void>;
}

export interface ModuleHostDeps {
  /** The configuration in force now (a module started later gets the current one). */
  config(): AgentConfig;
  log: Logger;
  link: ServerLink;
  emit(module: string, event: string, data: unknown): void;
  /** How long a module being turned off lets its running commands finish before they are cancelled. */
  drainMs: number;
}

/**
 * Runs the modules of the registry: starts their background part, and turns modules on and off
 * while the agent runs (a pushed config, a plugin added or removed). Each change keeps the
 * registry, the executor and the started instances consistent, or throws having changed nothing.
 */
export class ModuleHost {
  private readonly instances = new Map<string, ModuleInstance>();
  /** The settings each module was started (or last reconfigured) with. */
  private readonly settingsOf = new Map<string, unknown>();

  constructor(
    readonly registry: ModuleRegistry,
    private readonly executor: ModuleGate,
    private readonly deps: ModuleHostDeps,
  ) {}

  instance(name: string): ModuleInstance | undefined {
    return this.instances.get(name);
  }

  /** Started instances, in start order. */
  started(): [string, ModuleInstance][] {
    return [...this.instances];
  }

  settings(name: string): unknown {
    return this.settingsOf.get(name);
  }

  /** At agent start: the background parts of the registry's modules, in load order. */
  async startAll(settings: Record<string, unknown>): Promise<void> {
    for (const mod of this.registry.loaded()) await this.startOne(mod, settings[mod.name]);
  }

  /**
   * Turns a module on: its types join the registry (throws `module_invalid` if they collide)
   * and its background part starts. If the start throws, the module is taken out again.
   */
  async enable(mod: AgentModule, settings: unknown): Promise<void> {
    this.registry.add(mod);
    try {
      await this.startOne(mod, settings);
    } catch (e) {
      this.registry.remove(mod.name);
      throw e;
    }
    this.executor.allowModule(mod.name);
  }

  /**
   * A module (a plugin) with its settings taken from the current config's section; a bad
   * section throws a ValidationError naming the field, and nothing changes.
   */
  async load(mod: AgentModule): Promise<void> {
    const settings = resolveModuleSettings([mod], this.deps.config().moduleSettings)[mod.name];
    await this.enable(mod, settings);
  }

  /**
   * Turns a module off: new commands of its types are refused at once (`module_disabled`), its
   * running ones get `drainMs` to finish and are then cancelled, then its instance stops and its
   * types leave the registry. `keepRefusing` (a module turned off by config) keeps answering
   * `module_disabled` for its types afterwards; without it (a plugin removed) they become unknown.
   */
  async disable(name: string, o: { keepRefusing: boolean }): Promise<AgentModule | undefined> {
    const mod = this.registry.module(name);
    if (!mod) return undefined;
    this.executor.refuseTypes(name, mod.commands.map((c) => c.type));
    await this.executor.drainModule(name, this.deps.drainMs);
    await this.stopOne(name);
    this.registry.remove(name);
    if (!o.keepRefusing) this.executor.allowModule(name);
    return mod;
  }

  /**
   * New settings for a running module: its own `reconfigure` when it has one, else it is
   * stopped (its commands drained first, like a module turned off) and started again.
   */
  async reconfigure(name: string, settings: unknown): Promise<void> {
    const mod = this.registry.module(name);
    if (!mod) return;
    const inst = this.instances.get(name);
    if (inst?.reconfigure) {
      await inst.reconfigure(settings);
      this.settingsOf.set(name, settings);
      return;
    }
    // Its commands are refused (module_disabled) until it runs again; enable lets them through.
    await this.disable(name, { keepRefusing: true });
    await this.enable(mod, settings);
  }

  /** At agent stop: every instance, last started first. */
  async stopAll(): Promise<void> {
    for (const name of [...this.instances.keys()].reverse()) await this.stopOne(name);
  }

  private async startOne(mod: AgentModule, settings: unknown): Promise<void> {
    if (!mod.start) {
      this.settingsOf.set(mod.name, settings);
      return;
    }
    const config = this.deps.config();
    const dataDir = join(config.dataDir, 'modules', mod.name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const inst = await mod.start({
      name: mod.name,
      config,
      settings,
      dataDir,
      log: this.deps.log.child({ module: mod.name }),
      link: this.deps.link,
      emit: (event, data) => this.deps.emit(mod.name, event, data),
    });
    this.instances.set(mod.name, inst);
    this.settingsOf.set(mod.name, settings);
  }

  private async stopOne(name: string): Promise<void> {
    const inst = this.instances.get(name);
    this.instances.delete(name);
    this.settingsOf.delete(name);
    await inst?.stop().catch((err: unknown) => this.deps.log.warn({ err, module: name }, 'module did not stop cleanly'));
  }
}
