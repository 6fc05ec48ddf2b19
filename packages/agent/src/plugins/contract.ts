import { Kind } from '@sinclair/typebox';
import { compile, COMMAND_TYPE_PATTERN, Type, type TSchema } from '@steward/protocol';
import { HandlerFailure } from '../core/errors.js';
import type { AgentModule, CommandDefinition, ModuleInstance, ModuleRuntime } from '../modules/types.js';
import { PluginInvalidError } from './errors.js';
import { withTimeout } from './timeout.js';

const COMMAND_TYPE = new RegExp(COMMAND_TYPE_PATTERN);

/** What a plugin's factory is called with: plugins cannot import the agent's packages, so they get these. */
export interface PluginApi {
  Type: typeof Type;
  /** Thrown by a handler to fail its command with a code of its own (and a result), as built-in handlers do. */
  HandlerFailure: typeof HandlerFailure;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** TypeBox marks its schemas with a global symbol, so one built with another copy of TypeBox is recognised too. */
const isSchema = (v: unknown): v is TSchema => isObject(v) && typeof (v as Record<symbol, unknown>)[Kind] === 'string';

function checkSchema(plugin: string, what: string, schema: unknown): TSchema {
  if (!isSchema(schema)) throw new PluginInvalidError(plugin, `${what} must be a schema built with the Type the factory is given`);
  try {
    compile(schema);
  } catch (e) {
    throw new PluginInvalidError(plugin, `${what} does not compile: ${(e as Error).message}`);
  }
  return schema;
}

/**
 * The JSON the result becomes on the wire, computed here: a handler returning something JSON
 * cannot carry (a BigInt, a cycle) fails its command with the reason instead of breaking the journal.
 */
function plainResult(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

/**
 * Checks a plugin's default export against the module contract and returns the module the agent
 * registers. The export is either the module itself or (recommended) a factory `({ Type }) => module`.
 * Everything the agent later calls is checked here, so a bad shape is refused at load with the
 * field named, never found out when a command arrives.
 */
export async function pluginModule(plugin: string, exported: unknown): Promise<AgentModule> {
  let value = exported;
  if (typeof value === 'function') {
    const api: PluginApi = { Type, HandlerFailure };
    value = await (value as (api: PluginApi) => unknown)(api);
  }
  if (!isObject(value)) throw new PluginInvalidError(plugin, 'index.mjs must default-export a module object or a factory ({ Type }) => module');
  const { name, description, commands, settings, start } = value;
  if (name !== plugin) throw new PluginInvalidError(plugin, `its module is named ${JSON.stringify(name)}; it must be named like its folder`);
  if (typeof description !== 'string') throw new PluginInvalidError(plugin, 'description must be a string');
  if (!Array.isArray(commands)) throw new PluginInvalidError(plugin, 'commands must be an array');
  if (start !== undefined && typeof start !== 'function') throw new PluginInvalidError(plugin, 'start must be a function when given');
  const defs = commands.map((c: unknown, i): CommandDefinition => {
    const at = `commands[${i}]`;
    if (!isObject(c)) throw new PluginInvalidError(plugin, `${at} must be an object`);
    if (typeof c.type !== 'string' || !COMMAND_TYPE.test(c.type) || !c.type.startsWith(`${plugin}.`)) {
      throw new PluginInvalidError(plugin, `${at}.type ${JSON.stringify(c.type)} must look like ${plugin}.verb`);
    }
    if (typeof c.description !== 'string') throw new PluginInvalidError(plugin, `${at}.description must be a string`);
    if (typeof c.safeToRerun !== 'boolean') throw new PluginInvalidError(plugin, `${at}.safeToRerun must be true or false`);
    if (typeof c.handler !== 'function') throw new PluginInvalidError(plugin, `${at}.handler must be a function`);
    const handler = c.handler as CommandDefinition['handler'];
    return {
      type: c.type,
      description: c.description,
      payload: checkSchema(plugin, `${at}.payload`, c.payload),
      safeToRerun: c.safeToRerun,
      // The executor catches what this throws (sync or async): only this command fails.
      handler: async (payload, ctx) => plainResult(await handler(payload, ctx)),
    };
  });
  return {
    name: plugin,
    description,
    commands: defs,
    ...(settings === undefined ? {} : { settings: checkSchema(plugin, 'settings', settings) }),
    ...(start ? { start: (rt: ModuleRuntime) => checkedStart(plugin, () => (start as NonNullable<AgentModule['start']>).call(value, rt)) } : {}),
  };
}

/** A start that throws, hangs or returns no `stop` is refused (whoever starts the module sees PluginInvalidError). */
async function checkedStart(plugin: string, start: () => Promise<ModuleInstance>): Promise<ModuleInstance> {
  let inst: unknown;
  try {
    inst = await withTimeout(plugin, 'start', Promise.resolve().then(start));
  } catch (e) {
    if (e instanceof PluginInvalidError) throw e;
    throw new PluginInvalidError(plugin, `start threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  const i = inst as Partial<ModuleInstance> | null;
  if (!i || typeof i.stop !== 'function' || (i.report !== undefined && typeof i.report !== 'function')) {
    throw new PluginInvalidError(plugin, 'start must return an object with a stop() function (and optionally report())');
  }
  return { stop: () => Promise.resolve().then(() => i.stop!()), ...(i.report ? { report: () => i.report!() } : {}) };
}
