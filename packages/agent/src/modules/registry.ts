import { Value } from '@sinclair/typebox/value';
import { BUILTIN_MODULES, moduleFolderNames, MODULE_NAME_PATTERN } from './folders.js';
import {
  compile,
  COMMAND_TYPE_PATTERN,
  UnknownCommandTypeError,
  ValidationError,
  type CommandTypeInfo,
  type TSchema,
  type Validator,
} from '@steward/protocol';
import { AgentError } from '../core/errors.js';
import type { AgentModule, CommandDefinition } from './types.js';

export { MODULE_NAME_PATTERN };
const COMMAND_TYPE = new RegExp(COMMAND_TYPE_PATTERN);

export interface ModuleRegistry {
  get(type: string): CommandDefinition | undefined;
  types(): CommandTypeInfo[];
  modules(): string[];
  /** The loaded modules themselves, in load order (the agent starts those with a `start`). */
  loaded(): AgentModule[];
  /** The module that defines a command type. */
  moduleOf(type: string): string | undefined;
  /** Returns the payload when it matches the command's schema; throws otherwise. */
  validatePayload(type: string, payload: unknown): unknown;
  /** The loaded module of that name. */
  module(name: string): AgentModule | undefined;
  /**
   * Adds a module at run time (a module turned on, a plugin loaded). Throws `module_invalid`
   * (nothing changed) when its name is taken or a command type is malformed or already defined.
   */
  add(mod: AgentModule): void;
  /** Takes a module out (turned off, plugin unloaded); its types become unknown. Returns it. */
  remove(name: string): AgentModule | undefined;
  /** Called after each add or remove (the agent sends `catalog.update`); returns the unsubscribe. */
  onChange(fn: () => void): () => void;
}

/** The built-in modules (folders.ts lists them). */
export async function availableModules(): Promise<string[]> {
  return moduleFolderNames();
}

/**
 * Checks each loaded module's config section against the schema it declares, with its defaults
 * applied; returns the sections by module name. Sections of modules not loaded are left alone.
 */
export function resolveModuleSettings(mods: AgentModule[], sections: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const mod of mods) {
    const raw = sections[mod.name] ?? {};
    if (!mod.settings) {
      if (sections[mod.name] !== undefined) {
        throw new ValidationError(`module ${mod.name} takes no settings`, [{ field: mod.name, rule: 'no settings' }]);
      }
      continue;
    }
    const withDefaults = Value.Default(mod.settings, structuredClone(raw));
    try {
      out[mod.name] = compile(mod.settings).parse(withDefaults, `settings of module ${mod.name}`);
    } catch (e) {
      if (e instanceof ValidationError) {
        const issues = (e.details as { issues: { field: string; rule: string }[] }).issues;
        throw new ValidationError(e.message, issues.map((i) => ({ ...i, field: `${mod.name}.${i.field}` })));
      }
      throw e;
    }
  }
  return out;
}

export async function loadModules(names: string[]): Promise<ModuleRegistry> {
  const available = await availableModules();
  names.forEach((name, i) => {
    if (!MODULE_NAME_PATTERN.test(name) || !available.includes(name)) {
      throw new ValidationError(`unknown module ${JSON.stringify(name)}; available modules: ${available.join(', ')}`, [
        { field: `modules[${i}]`, rule: `one of ${available.join(', ')}` },
      ]);
    }
  });
  const loaded: AgentModule[] = [];
  for (const name of names) loaded.push(await importBuiltinModule(name));
  return createRegistry(loaded);
}

/** Imports a built-in module folder (cached by the module loader after the first time). */
export async function importBuiltinModule(name: string): Promise<AgentModule> {
  if (!MODULE_NAME_PATTERN.test(name) || !(await availableModules()).includes(name)) {
    throw new AgentError('module_invalid', `no built-in module ${JSON.stringify(name)}`);
  }
  const mod = (await BUILTIN_MODULES[name]!()).default;
  if (!mod || mod.name !== name || !Array.isArray(mod.commands)) {
    throw new AgentError('module_invalid', `module folder ${name} must default-export an AgentModule named ${JSON.stringify(name)}`);
  }
  return mod;
}

interface Catalog {
  byType: Map<string, { def: CommandDefinition; module: string }>;
  known: string[];
  infos: CommandTypeInfo[];
}

/** Indexes the modules' command types; throws `module_invalid` on a malformed or doubly defined type. */
function catalogOf(mods: AgentModule[]): Catalog {
  const byType = new Map<string, { def: CommandDefinition; module: string }>();
  const names = new Set<string>();
  for (const mod of mods) {
    for (const def of mod.commands) {
      if (!COMMAND_TYPE.test(def.type) || !def.type.startsWith(`${mod.name}.`)) {
        throw new AgentError('module_invalid', `module ${mod.name}: command type ${JSON.stringify(def.type)} must look like ${mod.name}.verb`);
      }
      const other = byType.get(def.type);
      if (other) throw new AgentError('module_invalid', `command type ${def.type} is defined by both ${other.module} and ${mod.name}`);
      byType.set(def.type, { def, module: mod.name });
    }
    if (names.has(mod.name)) throw new AgentError('module_invalid', `module ${mod.name} is loaded already`);
    names.add(mod.name);
  }
  const known = [...byType.keys()].sort();
  // Symbol-keyed TypeBox internals are not JSON; the round trip leaves the plain JSON schema.
  const infos: CommandTypeInfo[] = known.map((type) => {
    const { def, module } = byType.get(type)!;
    return {
      type,
      module,
      safeToRerun: def.safeToRerun,
      description: def.description,
      payloadSchema: JSON.parse(JSON.stringify(def.payload)) as unknown,
    };
  });
  return { byType, known, infos };
}

/** Builds a registry from already-imported modules; loadModules uses it, tests can too. */
export function createRegistry(initial: AgentModule[]): ModuleRegistry {
  let mods = [...initial];
  let catalog = catalogOf(mods);
  // Keyed by definition: a module loaded again (a changed plugin) gets fresh validators.
  let validators = new WeakMap<CommandDefinition, Validator<TSchema>>();
  const listeners = new Set<() => void>();
  const changed = (next: AgentModule[]) => {
    catalog = catalogOf(next); // throws before anything changed
    mods = next;
    validators = new WeakMap();
    for (const fn of listeners) fn();
  };
  return {
    get: (type) => catalog.byType.get(type)?.def,
    types: () => catalog.infos.map((i) => ({ ...i })),
    modules: () => mods.map((m) => m.name),
    loaded: () => [...mods],
    moduleOf: (type) => catalog.byType.get(type)?.module,
    module: (name) => mods.find((m) => m.name === name),
    validatePayload(type, payload) {
      const entry = catalog.byType.get(type);
      if (!entry) throw new UnknownCommandTypeError(type, catalog.known);
      let validator = validators.get(entry.def);
      if (!validator) validators.set(entry.def, (validator = compile(entry.def.payload)));
      return validator.parse(payload === undefined ? {} : payload, `payload of ${type}`);
    },
    add(mod) {
      if (!mod || typeof mod.name !== 'string' || !MODULE_NAME_PATTERN.test(mod.name) || !Array.isArray(mod.commands)) {
        throw new AgentError('module_invalid', 'a module needs a name (lowercase letters and digits) and a commands list');
      }
      changed([...mods, mod]);
    },
    remove(name) {
      const mod = mods.find((m) => m.name === name);
      if (mod) changed(mods.filter((m) => m !== mod));
      return mod;
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
