import { AgentError } from '../core/errors.js';

/**
 * A plugin that cannot be used as it is: a bad manifest, an import or start that threw, a default
 * export that is not a module, a name taken by a built-in module. The agent stays up; the plugin
 * stays unloaded until its folder changes.
 */
export class PluginInvalidError extends AgentError<'plugin_invalid'> {
  constructor(plugin: string, message: string, details?: Record<string, unknown>) {
    super('plugin_invalid', `plugin ${plugin}: ${message}`, { plugin, ...details });
  }
}

/** A plugin the pushed config names could not be fetched or unpacked; nothing was installed. */
export class PluginInstallError extends AgentError<'plugin_install_failed'> {}
