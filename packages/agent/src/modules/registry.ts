import { Value } from '@sinclair/typebox/value';
import { moduleFolderNames, MODULE_NAME_PATTERN } from './folders.js';
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
}

/** Module folders next to this file; a module is a folder with an index. */
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
  for (const name of names) {
    const url = new URL(`./${name}/index.js`, import.meta.url).href;
    const imported = (await import(url)) as { default?: AgentModule };
    const mod = imported.default;
    if (!mod || mod.name !== name || !Array.isArray(mod.commands)) {
      throw new AgentError('module_invalid', `module folder ${name} must default-export an AgentModule named ${JSON.stringify(name)}`);
    }
    loaded.push(mod);
  }
  return createRegistry(loaded);
}

/** Builds a registry from already-imported modules; loadModules uses it, tests can too. */
export function createRegistry(mods: AgentModule[]): ModuleRegistry {
  const byType = new Map<string, { def: CommandDefinition; module: string }>();
  for (const mod of mods) {
    for (const def of mod.commands) {
      if (!COMMAND_TYPE.test(def.type) || !def.type.startsWith(`${mod.name}.`)) {
        throw new AgentError('module_invalid', `module ${mod.name}: command type ${JSON.stringify(def.type)} must look like ${mod.name}.verb`);
      }
      const other = byType.get(def.type);
      if (other) throw new AgentError('module_invalid', `command type ${def.type} is defined by both ${other.module} and ${mod.name}`);
      byType.set(def.type, { def, module: mod.name });
    }
  }
  const known = [...byType.keys()].sort();
  const validators = new Map<string, Validator<TSchema>>();
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
  return {
    get: (type) => byType.get(type)?.def,
    types: () => infos.map((i) => ({ ...i })),
    modules: () => mods.map((m) => m.name),
    loaded: () => [...mods],
    moduleOf: (type) => byType.get(type)?.module,
    validatePayload(type, payload) {
      const entry = byType.get(type);
      if (!entry) throw new UnknownCommandTypeError(type, known);
      let validator = validators.get(type);
      if (!validator) validators.set(type, (validator = compile(entry.def.payload)));
      return validator.parse(payload === undefined ? {} : payload, `payload of ${type}`);
    },
  };
}
