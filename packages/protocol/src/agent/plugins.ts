import { Type, type Static } from '@sinclair/typebox';

/** The agent module name plugin events and the plugins report go under (no plugin may take it). */
export const PLUGINS_MODULE = 'plugins';

const PluginName = Type.String({ pattern: '^[a-z][a-z0-9]*$', maxLength: 100 });
const Version = Type.String({ maxLength: 100 });

/** `module.event` data, module `plugins`: a plugin was loaded (or a new version of it). */
export const PluginLoadedData = Type.Object({ name: PluginName, version: Version, types: Type.Array(Type.String({ maxLength: 200 }), { maxItems: 1024 }) });
/** A plugin was unloaded (its folder removed, or before its new version loads). */
export const PluginUnloadedData = Type.Object({ name: PluginName, version: Type.Optional(Version) });
/** A plugin was refused (`plugin_invalid`): the agent stays up, the plugin stays unloaded. */
export const PluginInvalidData = Type.Object({ name: PluginName, code: Type.Literal('plugin_invalid'), message: Type.String({ maxLength: 4000 }) });

export const PluginStateSchema = Type.Union([Type.Literal('loaded'), Type.Literal('incomplete'), Type.Literal('invalid')]);

/** The `plugins` module report (hello and heartbeats): every plugin folder and how it stands. */
export const PluginsReport = Type.Object({
  plugins: Type.Array(
    Type.Object({ name: PluginName, state: PluginStateSchema, version: Type.Optional(Version), reason: Type.Optional(Type.String({ maxLength: 4000 })) }),
    { maxItems: 1024 },
  ),
});
export type PluginsReport = Static<typeof PluginsReport>;
